//! The official `openai` and `google-genai` Python packages against the gateway, in a virtualenv the test creates
//! once (under the target folder) with pip from PyPI. `openai`: chat, a stream with usage, tools whole and
//! streamed, embeddings and errors. `google-genai`: generate, stream, function calling (declared, called,
//! answered), count_tokens, models.list and errors, through `v1beta` and the SDK's default `v1`.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use e2e::fake::FakeKind;
use e2e::{FAKE_TOKEN, bin_dir};

use crate::conformance::World;

/// The SDKs the scripts use: (the module to import, the requirement pip installs).
const PACKAGES: [(&str, &str); 2] = [("openai", "openai>=1.40,<3"), ("google.genai", "google-genai>=1.30,<4")];

/// A Python with the SDKs installed, made once per test run (and each package only when it is missing).
fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let venv = bin_dir().join("e2e-venv");
            let python = venv.join("bin/python");
            if !python.exists() {
                let made = Command::new("python3").arg("-m").arg("venv").arg(&venv).status().expect("python3 runs");
                assert!(made.success(), "python3 -m venv failed: apt-get install python3-venv");
            }
            for (module, requirement) in PACKAGES {
                let import = format!("import {module}");
                let ready = Command::new(&python).args(["-c", &import]).output().is_ok_and(|o| o.status.success());
                if !ready {
                    let installed = Command::new(&python)
                        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement])
                        .status()
                        .expect("pip runs");
                    assert!(installed.success(), "pip install {requirement} failed");
                }
            }
            python
        })
        .clone()
}

async fn run_script(kind: FakeKind) {
    let world = World::start(kind).await;
    let python = python();
    let script = e2e::package_dir().join("e2e/scripts/openai_sdk.py");
    let output = Command::new(python)
        .arg(script)
        .env("OPENAI_BASE_URL", format!("{}/v1", world.gateway.root()))
        .env("OPENAI_API_KEY", FAKE_TOKEN)
        .env("EXPECT_TEXT", world.reply_text("chat-model", "hi"))
        .env("WITH_EMBEDDINGS", if kind == FakeKind::OpenAi { "1" } else { "0" })
        .env_remove("OPENAI_ORG_ID")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the openai SDK script failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("all checks passed"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_sdk_through_an_openai_upstream() {
    run_script(FakeKind::OpenAi).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_sdk_through_an_anthropic_upstream() {
    run_script(FakeKind::Anthropic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_sdk_through_a_gemini_upstream() {
    run_script(FakeKind::Gemini).await;
}

async fn run_genai_script(kind: FakeKind) {
    let world = World::start(kind).await;
    let script = e2e::package_dir().join("e2e/scripts/genai_sdk.py");
    let output = Command::new(python())
        .arg(script)
        .env("GEMINI_BASE_URL", world.gateway.root())
        .env("GEMINI_API_KEY", FAKE_TOKEN)
        .env("EXPECT_TEXT", world.reply_text("chat-model", "hi"))
        .env_remove("GOOGLE_API_KEY")
        .env_remove("GOOGLE_GENAI_USE_VERTEXAI")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the google-genai SDK script failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("all checks passed"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn genai_sdk_through_an_openai_upstream() {
    run_genai_script(FakeKind::OpenAi).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn genai_sdk_through_an_anthropic_upstream() {
    run_genai_script(FakeKind::Anthropic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn genai_sdk_through_a_gemini_upstream() {
    run_genai_script(FakeKind::Gemini).await;
}
