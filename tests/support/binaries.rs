use std::path::PathBuf;

/// The compiled `web` or `worker` binary of this workspace (built by `cargo build --bins`
/// before the tests run; `scripts/test` does it). `SALON_BIN_DIR` overrides the folder.
pub fn path(name: &str) -> PathBuf {
    let dir = std::env::var_os("SALON_BIN_DIR").map(PathBuf::from).unwrap_or_else(|| {
        // The test executable lives in target/<profile>/deps/.
        let exe = std::env::current_exe().expect("the test executable has a path");
        exe.parent()
            .and_then(|deps| deps.parent())
            .expect("the test executable is inside target/<profile>/deps")
            .to_path_buf()
    });
    let binary = dir.join(name);
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build --bins` first (scripts/test does)",
        binary.display()
    );
    binary
}
