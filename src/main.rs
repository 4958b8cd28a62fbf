/// See `mimalloc` in Cargo.toml: the normaliser allocates many large blocks.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tributary::cli::main()
}
