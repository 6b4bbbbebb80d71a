;; A keyring guest written by hand, as a hostile vendor could write one: its load-all grows
;; a function table by 10 000 elements at a time until the host refuses. Rust cannot emit
;; table.grow, hence WebAssembly text; tests/src/raw_guest.rs turns this core module into
;; a component of the keyring-guest world with wit-component.
;;
;; If the host never refuses before 100 000 elements, load-all returns an error saying so
;; (the test fails); if it refuses in time, load-all executes `unreachable`, a trap.
(module
  (memory (export "memory") 1)
  (table $t 1 funcref)
  (global $heap (mut i32) (i32.const 8192))

  ;; A bump allocator: enough for the host to lower the few arguments it passes.
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    (local.set $p
      (i32.and
        (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get 2))))
    (global.set $heap (i32.add (local.get $p) (local.get 3)))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then (drop (memory.grow (i32.add (i32.shr_u (local.get 3) (i32.const 16)) (i32.const 1))))))
    (local.get $p))

  ;; Result areas: 1024 holds an Ok result (all zero); 1536 the error built below.
  (data (i32.const 2048) "table growth was not refused")

  (func (export "mysql:keyring-kmip/keyring@0.3.0#configure")
    (param i32 i32 i32 i32 i32) (result i32)
    (i32.const 1024))

  (func (export "mysql:keyring-kmip/keyring@0.3.0#load-all") (result i32)
    (block $refused
      (loop $grow
        (br_if $refused
          (i32.eq (table.grow $t (ref.null func) (i32.const 10000)) (i32.const -1)))
        (br $grow)))
    (if (i32.le_u (table.size $t) (i32.const 100000)) (then unreachable))
    ;; err(invalid-argument("table growth was not refused"))
    (i32.store8 (i32.const 1536) (i32.const 1))
    (i32.store8 (i32.const 1540) (i32.const 0))
    (i32.store (i32.const 1544) (i32.const 2048))
    (i32.store (i32.const 1548) (i32.const 28))
    (i32.const 1536))

  (func (export "mysql:keyring-kmip/keyring@0.3.0#store-key")
    (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    unreachable)
  (func (export "mysql:keyring-kmip/keyring@0.3.0#generate-key")
    (param i32 i32 i32 i32 i32 i32 i32) (result i32)
    unreachable)
  (func (export "mysql:keyring-kmip/keyring@0.3.0#remove-key")
    (param i32 i32) (result i32)
    unreachable)
  ;; take-left-on-server: the empty list (pointer and length zero)
  (func (export "mysql:keyring-kmip/keyring@0.3.0#take-left-on-server") (result i32)
    (i32.const 3584))
  ;; status: none, none (an all-zero record)
  (func (export "mysql:keyring-kmip/keyring@0.3.0#status") (result i32)
    (i32.const 3072))
)
