//! Node-API functions are found in the Node.js process when it loads the addon. Linux allows that by default; macOS
//! must be told. (Windows would need Node's import library, which this project does not fetch: setup skips the
//! native build there.)
fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("macos") {
        println!("cargo:rustc-cdylib-link-arg=-undefined");
        println!("cargo:rustc-cdylib-link-arg=dynamic_lookup");
    }
}
