//! The keyring services as MySQL's headers declare them, transcribed member by member, and
//! a test that the loader's `#[repr(C)]` mirrors (which every loader test drives the built
//! component through) have exactly these members, in this order, with these signatures.
//!
//! Sources: mysql/mysql-server's `include/mysql/components/services/keyring_*.h` and
//! `keyring_metadata_query.h`, read for MySQL 8.0.40 and 8.0.44, 8.4.0 and 8.4.7, 9.1.0,
//! 9.6.0 and 9.7.2 (the reference pages and stored source): no member differs between
//! them. The services appeared in 8.0.24 with these declarations (headers dated 2021);
//! 8.0.24 itself was not read. `mysql_simple_error_log` is optional (see the README's
//! compatibility table): the component looks it up and falls back to standard error.

/// One method as the header declares it: its name and its C parameter types.
pub struct Method {
    /// The member name in `BEGIN_SERVICE_DEFINITION`.
    pub name: &'static str,
    /// The C parameter types, in order (`DECLARE_BOOL_METHOD` returns
    /// `mysql_service_status_t`, an int, for all).
    pub params: &'static [&'static str],
}

/// One service and its methods in declaration order.
pub struct Service {
    /// The service name.
    pub name: &'static str,
    /// Its methods.
    pub methods: &'static [Method],
}

const fn m(name: &'static str, params: &'static [&'static str]) -> Method {
    Method { name, params }
}

const ITERATOR: &[Method] = &[
    m("init", &["my_h_iterator *"]),
    m("deinit", &["my_h_iterator"]),
    m("is_valid", &["my_h_iterator"]),
    m("next", &["my_h_iterator"]),
    m("get_length", &["my_h_iterator", "size_t *", "size_t *"]),
    m(
        "get",
        &["my_h_iterator", "char *", "size_t", "char *", "size_t"],
    ),
];

const AES_CRYPT: &[&str] = &[
    "const char *",
    "const char *",
    "const char *",
    "size_t",
    "const unsigned char *",
    "int",
    "const unsigned char *",
    "size_t",
    "unsigned char *",
    "size_t",
    "size_t *",
];

/// The eight keyring services (metadata query counted with component status), as MySQL
/// 8.0.24+, 8.4 LTS and 9.x declare them.
pub const KEYRING_SERVICES: &[Service] = &[
    Service {
        name: "keyring_reader_with_status",
        methods: &[
            m(
                "init",
                &[
                    "const char *",
                    "const char *",
                    "my_h_keyring_reader_object *",
                ],
            ),
            m("deinit", &["my_h_keyring_reader_object"]),
            m(
                "fetch_length",
                &["my_h_keyring_reader_object", "size_t *", "size_t *"],
            ),
            m(
                "fetch",
                &[
                    "my_h_keyring_reader_object",
                    "unsigned char *",
                    "size_t",
                    "size_t *",
                    "char *",
                    "size_t",
                    "size_t *",
                ],
            ),
        ],
    },
    Service {
        name: "keyring_writer",
        methods: &[
            m(
                "store",
                &[
                    "const char *",
                    "const char *",
                    "const unsigned char *",
                    "size_t",
                    "const char *",
                ],
            ),
            m("remove", &["const char *", "const char *"]),
        ],
    },
    Service {
        name: "keyring_generator",
        methods: &[m(
            "generate",
            &["const char *", "const char *", "const char *", "size_t"],
        )],
    },
    Service {
        name: "keyring_keys_metadata_iterator",
        methods: ITERATOR,
    },
    Service {
        name: "keyring_component_status",
        methods: &[m("is_initialized", &[])],
    },
    Service {
        name: "keyring_component_metadata_query",
        methods: ITERATOR,
    },
    Service {
        name: "keyring_load",
        methods: &[m("load", &["const char *", "const char *"])],
    },
    Service {
        name: "keyring_aes",
        methods: &[
            m(
                "get_size",
                &["size_t", "const char *", "size_t", "size_t *"],
            ),
            m("encrypt", AES_CRYPT),
            m("decrypt", AES_CRYPT),
        ],
    },
];

/// The Rust type a C parameter type is on x86-64 Linux, as `std::any::type_name` spells it.
pub fn rust_type(c: &str) -> &'static str {
    match c {
        "const char *" => "*const i8",
        "char *" => "*mut i8",
        "const unsigned char *" => "*const u8",
        "unsigned char *" => "*mut u8",
        "size_t" => "usize",
        "size_t *" => "*mut usize",
        "int" => "i32",
        // `my_h_*` handles are pointers to opaque structs.
        h if h.starts_with("my_h_") && h.ends_with(" *") => "*mut *mut core::ffi::c_void",
        h if h.starts_with("my_h_") => "*mut core::ffi::c_void",
        other => panic!("no Rust mapping for the C type {other:?}"),
    }
}

/// The function-pointer type a method has in Rust, as `std::any::type_name` spells it.
pub fn rust_signature(method: &Method) -> String {
    let params: Vec<&str> = method.params.iter().map(|p| rust_type(p)).collect();
    format!("unsafe extern \"C\" fn({}) -> i32", params.join(", "))
}

#[cfg(test)]
mod tests {
    use super::super::abi::{Aes, ComponentStatus, Generator, Iterator6, Load, Reader, Writer};
    use super::*;
    use std::mem::{offset_of, size_of};

    /// The type of a struct member, named without a value of the struct.
    fn member_type<S, F>(_: fn(&S) -> &F) -> &'static str {
        std::any::type_name::<F>()
    }

    /// A mirror's members: (name, offset, type), in declaration order.
    type Members = Vec<(&'static str, usize, &'static str)>;

    macro_rules! members {
        ($s:ty: $($f:ident),* $(,)?) => {
            (size_of::<$s>(), vec![$((stringify!($f), offset_of!($s, $f), member_type(|s: &$s| &s.$f))),*])
        };
    }

    fn mirror(service: &str) -> (usize, Members) {
        match service {
            "keyring_reader_with_status" => members!(Reader: init, deinit, fetch_length, fetch),
            "keyring_writer" => members!(Writer: store, remove),
            "keyring_generator" => members!(Generator: generate),
            "keyring_keys_metadata_iterator" | "keyring_component_metadata_query" => {
                members!(Iterator6: init, deinit, is_valid, next, get_length, get)
            }
            "keyring_component_status" => members!(ComponentStatus: is_initialized),
            "keyring_load" => members!(Load: load),
            "keyring_aes" => members!(Aes: get_size, encrypt, decrypt),
            other => panic!("no mirror for {other}"),
        }
    }

    #[test]
    fn the_loaders_service_mirrors_match_mysqls_headers_member_by_member() {
        assert_eq!(KEYRING_SERVICES.len(), 8);
        for service in KEYRING_SERVICES {
            let (size, members) = mirror(service.name);
            let pointer = size_of::<usize>();
            assert_eq!(
                size,
                service.methods.len() * pointer,
                "{}: one function pointer per method, nothing else",
                service.name
            );
            assert_eq!(members.len(), service.methods.len(), "{}", service.name);
            for (i, (method, (name, offset, ty))) in
                service.methods.iter().zip(&members).enumerate()
            {
                assert_eq!(*name, method.name, "{} member {i}", service.name);
                assert_eq!(
                    *offset,
                    i * pointer,
                    "{}.{name}: declaration order",
                    service.name
                );
                // An `AesCrypt` alias reads as its expansion.
                assert_eq!(
                    *ty,
                    rust_signature(method),
                    "{}.{name}: the signature the header declares",
                    service.name
                );
            }
        }
    }
}
