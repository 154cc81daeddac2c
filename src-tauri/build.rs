/// Every command the window may call; each gets an `allow-<command>` permission granted in capabilities/default.json.
const COMMANDS: &[&str] = &[
    "gateway_status",
    "copy_endpoint",
    "list_presets",
    "list_providers",
    "save_provider",
    "delete_provider",
    "set_provider_key",
    "remove_provider_key",
    "test_provider",
    "detect_local_providers",
    "list_aliases",
    "save_alias",
    "delete_alias",
    "try_alias",
    "describe_model",
    "list_apps",
    "create_app",
    "rotate_app_token",
    "set_app_enabled",
    "delete_app",
    "list_conversations",
    "get_conversation",
    "create_conversation",
    "update_conversation",
    "delete_conversation",
    "search_messages",
    "chat_models",
    "export_conversations",
    "open_link",
    "stop_generation",
    "send_message",
    "update_app",
    "get_all_apps_limits",
    "set_all_apps_limits",
    "list_requests",
    "request_detail",
    "log_facets",
    "usage_report",
    "export_usage_csv",
    "default_export_path",
    "get_settings",
    "save_settings",
    "reset_settings",
    "export_config",
    "preview_config_import",
    "import_config",
    "get_launch_at_login",
    "set_launch_at_login",
];

fn main() {
    // Declaring the app's commands makes Tauri generate one permission per command (`allow-<command>`), so
    // capabilities/default.json grants the window exactly these and nothing else.
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("tauri-build failed: is ui/dist built? `cargo xtask run` builds it");
}
