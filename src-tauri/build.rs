fn main() {
    // Declaring the app's commands makes Tauri generate one permission per command (`allow-<command>`), so
    // capabilities/default.json grants the window exactly these and nothing else.
    let manifest = tauri_build::AppManifest::new().commands(&["gateway_status", "copy_endpoint"]);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("tauri-build failed: is ui/dist built? `cargo xtask run` builds it");
}
