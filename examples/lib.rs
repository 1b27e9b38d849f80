//! Runnable programs that embed Eyrie. Each file beside this one is one use case;
//! run it with `cargo run --example NAME`.
