//! The UI's DTO types are generated from the Rust types with ts-rs into `ui/src/api/generated/`, one file per type.
//! This test fails when a generated file is stale, missing or left over; to regenerate, run
//! `UPDATE_BINDINGS=1 cargo test -p switchboard bindings`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ts_rs::{Config, TS};

use super::aliases::{AliasDto, ModelFacts, TryResult};
use super::apps::{AllAppsLimits, AppDto, AppInput, AppUpdate, NewToken};
use super::balances::BalanceDto;
use super::clients::probe::{CheckEvent, ClientTestDto};
use super::clients::{ClientsDto, ConnectInput, ConnectPlan, ConnectedDto, DisconnectedDto, UpdatedClient};
use super::config::{ConfigExport, ImportPreview};
use super::logs::{LogFacets, LogFilter, RequestDetailDto};
use super::prices::{PriceImportDto, PriceOverrideDto, PriceStatus};
use super::providers::{LocalServerDto, PresetDto, ProviderDto, ProviderInput, TestResult};
use super::settings::{SettingsDto, SettingsInput};
use super::usage::{ExportResult, UsageQuery, UsageReport};
use crate::gateway::GatewayStatus;

const HEADER: &str = "// Generated from src-tauri/src/commands by ts-rs: do not edit. Regenerate with\n\
                      // `UPDATE_BINDINGS=1 cargo test -p switchboard bindings`.\n";

fn generated_dir() -> PathBuf {
    // At run time, not compile time: a test binary built in another clone of the same commit is not rebuilt.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf(), PathBuf::from)
        .join("../ui/src/api/generated")
}

/// Every root type and, through ts-rs, everything it refers to, written into `dir`.
fn export_into(dir: &Path) {
    // Ids, counts and unix-ms times all fit in a JS number.
    let cfg = Config::new().with_large_int("number").with_out_dir(dir);
    AppUpdate::export_all(&cfg).unwrap();
    AppDto::export_all(&cfg).unwrap();
    AppInput::export_all(&cfg).unwrap();
    NewToken::export_all(&cfg).unwrap();
    AllAppsLimits::export_all(&cfg).unwrap();
    GatewayStatus::export_all(&cfg).unwrap();
    LogFilter::export_all(&cfg).unwrap();
    LogFacets::export_all(&cfg).unwrap();
    RequestDetailDto::export_all(&cfg).unwrap();
    SettingsDto::export_all(&cfg).unwrap();
    SettingsInput::export_all(&cfg).unwrap();
    UsageQuery::export_all(&cfg).unwrap();
    UsageReport::export_all(&cfg).unwrap();
    ExportResult::export_all(&cfg).unwrap();
    LocalServerDto::export_all(&cfg).unwrap();
    PresetDto::export_all(&cfg).unwrap();
    ProviderDto::export_all(&cfg).unwrap();
    ProviderInput::export_all(&cfg).unwrap();
    TestResult::export_all(&cfg).unwrap();
    TryResult::export_all(&cfg).unwrap();
    ModelFacts::export_all(&cfg).unwrap();
    AliasDto::export_all(&cfg).unwrap();
    ConfigExport::export_all(&cfg).unwrap();
    ImportPreview::export_all(&cfg).unwrap();
    ClientsDto::export_all(&cfg).unwrap();
    ConnectInput::export_all(&cfg).unwrap();
    ConnectPlan::export_all(&cfg).unwrap();
    ConnectedDto::export_all(&cfg).unwrap();
    DisconnectedDto::export_all(&cfg).unwrap();
    UpdatedClient::export_all(&cfg).unwrap();
    ClientTestDto::export_all(&cfg).unwrap();
    CheckEvent::export_all(&cfg).unwrap();
    PriceStatus::export_all(&cfg).unwrap();
    PriceImportDto::export_all(&cfg).unwrap();
    PriceOverrideDto::export_all(&cfg).unwrap();
    BalanceDto::export_all(&cfg).unwrap();
}

/// `*.ts` files in `dir` by name, with our header in front.
fn read_dir(dir: &Path, add_header: bool) -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return BTreeMap::new() };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ts"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let text = if add_header { format!("{HEADER}{text}") } else { text };
            (p.file_name().unwrap().to_string_lossy().into_owned(), text)
        })
        .collect()
}

#[test]
fn bindings_are_current() {
    let fresh = std::env::temp_dir().join(format!("switchboard-bindings-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&fresh);
    export_into(&fresh);
    let expected = read_dir(&fresh, true);
    let _ = std::fs::remove_dir_all(&fresh);
    let dir = generated_dir();
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in &expected {
            std::fs::write(dir.join(name), text).unwrap();
        }
        return;
    }
    let actual = read_dir(&dir, false);
    let names = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&actual),
        names(&expected),
        "ui/src/api/generated/ lists other types than the Rust DTOs: run `UPDATE_BINDINGS=1 cargo test -p switchboard bindings`"
    );
    for (name, text) in &expected {
        assert_eq!(
            &actual[name], text,
            "ui/src/api/generated/{name} is stale: run `UPDATE_BINDINGS=1 cargo test -p switchboard bindings`"
        );
    }
}
