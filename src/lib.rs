//! fast-litellm's core: litellm's token counting, bit-exact, as plain Rust. The
//! WebAssembly component (`component.rs`, wasm32 only) is a thin binding over it, the way
//! openai/tiktoken keeps a small Rust core under thin per-language bindings.

pub mod control;
pub mod count;
pub mod encodings;
pub mod images;
pub mod json;
pub mod metrics;
pub mod ratelimit;
pub mod router;
pub mod messages;
pub mod pretokenize;

#[cfg(target_arch = "wasm32")]
mod component;
