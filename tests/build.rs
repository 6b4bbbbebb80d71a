//! Compiles the fetch benchmark's C caller and baseline keyring (tests/c/reader_bench.c),
//! with the workspace's C compiler (zig, .cargo/config.toml) at -O2.

fn main() {
    println!("cargo:rerun-if-changed=c/reader_bench.c");
    cc::Build::new()
        .file("c/reader_bench.c")
        .opt_level(2)
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile("reader_bench");
}
