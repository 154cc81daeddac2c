//! Every client through the same cases, driven by one table: a realistic existing config (the person's own
//! settings and comments, written for these tests), connected, reconnected, edited between, disconnected.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

use super::{ClientError, ClientId, Clients, Connection, Endpoint, Env, Restored, State};

/// One client's case: its existing files (relative to HOME), an edit of the person's own settings, an edit of
/// one of Switchboard's values, and a broken file with the line its error names.
struct Case {
    id: ClientId,
    files: &'static [(&'static str, &'static str)],
    user_edit: (&'static str, &'static str, &'static str),
    our_edit: (&'static str, &'static str, &'static str),
    broken: (&'static str, &'static str, usize),
}

const CASES: &[Case] = &[
    Case {
        id: ClientId::ClaudeCode,
        files: &[(
            ".claude/settings.json",
            "{\n  \"theme\": \"dark\",\n  \"permissions\": {\n    \"allow\": [\"Bash(git status)\", \"Read(~/notes/**)\"]\n  },\n  \"env\": {\n    \"MY_VAR\": \"keep me\"\n  },\n  \"includeCoAuthoredBy\": false\n}\n",
        )],
        user_edit: (".claude/settings.json", "\"theme\": \"dark\"", "\"theme\": \"light\""),
        our_edit: (".claude/settings.json", "\"ANTHROPIC_MODEL\": \"sonnet-alias\"", "\"ANTHROPIC_MODEL\": \"mine\""),
        broken: (".claude/settings.json", "{\n  // Claude Code reads no comments\n  \"theme\": \"dark\"\n}\n", 2),
    },
    Case {
        id: ClientId::Codex,
        files: &[(
            ".codex/config.toml",
            "# Codex, my way\nmodel = \"gpt-5\"          # what I use at work\napproval_policy = \"on-request\"\n\n[tui]\nnotifications = true   # ping me\n\n[model_providers.work]\nname = \"Work proxy\"\nbase_url = \"https://proxy.example/v1\"\n",
        )],
        user_edit: (".codex/config.toml", "notifications = true", "notifications = false"),
        our_edit: (".codex/config.toml", "model = \"sonnet-alias\"", "model = \"mine\""),
        broken: (".codex/config.toml", "model = \"gpt-5\"\n[tui\nnotifications = true\n", 2),
    },
    Case {
        id: ClientId::GeminiCli,
        files: &[
            (".gemini/.env", "# keys for gemini\nGOOGLE_CLOUD_PROJECT=my-project\n"),
            (
                ".gemini/settings.json",
                "{\n  \"ui\": { \"theme\": \"GitHub\" },\n  // no telemetry please\n  \"privacy\": { \"usageStatisticsEnabled\": false }\n}\n",
            ),
        ],
        user_edit: (".gemini/settings.json", "\"GitHub\"", "\"Dracula\""),
        our_edit: (".gemini/settings.json", "\"name\": \"sonnet-alias\"", "\"name\": \"mine\""),
        broken: (".gemini/.env", "GOOGLE_CLOUD_PROJECT=x\nnot a line\n", 2),
    },
    Case {
        id: ClientId::Opencode,
        files: &[(
            ".config/opencode/opencode.json",
            "{\n  \"$schema\": \"https://opencode.ai/config.json\",\n  // my own keys\n  \"theme\": \"tokyonight\",\n  \"provider\": {\n    \"ollama\": {\n      \"npm\": \"@ai-sdk/openai-compatible\",\n      \"options\": { \"baseURL\": \"http://localhost:11434/v1\" },\n      \"models\": { \"qwen3\": {} },\n    },\n  },\n  \"model\": \"ollama/qwen3\",\n}\n",
        )],
        user_edit: (".config/opencode/opencode.json", "tokyonight", "gruvbox"),
        our_edit: (
            ".config/opencode/opencode.json",
            "\"model\": \"switchboard/sonnet-alias\"",
            "\"model\": \"ollama/qwen3\"",
        ),
        broken: (".config/opencode/opencode.json", "{\n  \"theme\": \"x\",\n  \"model\": ,\n}\n", 3),
    },
    Case {
        id: ClientId::Continue,
        files: &[(
            ".continue/config.yaml",
            "name: My assistant   # shown in the picker\nversion: 0.0.1\nschema: v1\n\nmodels:\n  # runs on my laptop\n  - name: Local\n    provider: ollama\n    model: qwen2.5-coder:7b\n    roles:\n      - autocomplete\n\ncontext:\n  - provider: code\n  - provider: diff\n",
        )],
        user_edit: (".continue/config.yaml", "provider: diff", "provider: terminal"),
        our_edit: (".continue/config.yaml", "model: \"sonnet-alias\"", "model: \"mine\""),
        broken: (".continue/config.yaml", "name: x\nmodels:\n  - name: [oops\n", 4),
    },
    Case {
        id: ClientId::Zed,
        files: &[(
            ".config/zed/settings.json",
            "// Zed settings\n//\n// For information on how to configure Zed, see the Zed docs.\n{\n  \"ui_font_size\": 16,\n  \"buffer_font_size\": 15,\n  \"theme\": {\n    \"mode\": \"system\",\n    \"light\": \"One Light\",\n    \"dark\": \"One Dark\",\n  },\n  \"agent\": {\n    \"always_allow_tool_actions\": false,\n  },\n}\n",
        )],
        user_edit: (".config/zed/settings.json", "\"ui_font_size\": 16", "\"ui_font_size\": 18"),
        our_edit: (".config/zed/settings.json", "\"model\": \"sonnet-alias\"", "\"model\": \"mine\""),
        broken: (".config/zed/settings.json", "{\n  \"a\": 1,\n  \"b\": [1, 2\n}\n", 4),
    },
    Case {
        id: ClientId::QwenCode,
        files: &[(
            ".qwen/settings.json",
            "{\n  \"general\": {\n    \"vimMode\": true\n  },\n  \"ui\": {\n    \"theme\": \"Qwen Dark\"\n  },\n  \"$version\": 4\n}\n",
        )],
        user_edit: (".qwen/settings.json", "\"vimMode\": true", "\"vimMode\": false"),
        our_edit: (".qwen/settings.json", "\"name\": \"sonnet-alias\"", "\"name\": \"mine\""),
        broken: (".qwen/settings.json", "{\n  \"general\": {\n    \"vimMode\": tru\n  }\n}\n", 3),
    },
];

struct Home {
    _temp: tempfile::TempDir,
    home: PathBuf,
    data: PathBuf,
    bin: PathBuf,
}

impl Home {
    fn new() -> Home {
        let temp = tempfile::tempdir().unwrap();
        let home = temp.path().join("home");
        let data = temp.path().join("data");
        let bin = temp.path().join("bin");
        for dir in [&home, &data, &bin] {
            std::fs::create_dir_all(dir).unwrap();
        }
        Home { _temp: temp, home, data, bin }
    }

    fn clients(&self) -> Clients {
        let env = Env {
            home: self.home.clone(),
            codex_home: None,
            xdg_config_home: None,
            path: Some(self.bin.clone().into()),
        };
        Clients::new(env, &self.data)
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.home.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn read(&self, rel: &str) -> Option<String> {
        std::fs::read_to_string(self.home.join(rel)).ok()
    }

    fn edit(&self, (rel, from, to): (&str, &str, &str)) {
        let text = self.read(rel).unwrap();
        assert!(text.contains(from), "{rel} has no {from:?}:\n{text}");
        self.write(rel, &text.replacen(from, to, 1));
    }

    fn install(&self, name: &str) {
        let path = self.bin.join(name);
        std::fs::write(&path, "#!/bin/sh\necho 9.9.9-fake\n").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::PermissionsExt::set_mode(&mut std::fs::metadata(&path).unwrap().permissions(), 0o755);
        #[cfg(unix)]
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }

    fn records(&self) -> Vec<PathBuf> {
        match std::fs::read_dir(self.data.join("clients")) {
            Ok(dir) => dir.map(|e| e.unwrap().path()).collect(),
            Err(_) => Vec::new(),
        }
    }
}

fn endpoint(port: u16) -> Endpoint {
    Endpoint { root: format!("http://127.0.0.1:{port}") }
}

fn connection(id: ClientId, port: u16, alias: &str) -> Connection {
    let first = id.slots()[0].id.to_owned();
    Connection {
        endpoint: endpoint(port),
        token: SecretString::from("sb-test-token-0123456789"),
        app: "Test app".to_owned(),
        aliases: BTreeMap::from([(first, alias.to_owned())]),
    }
}

/// Runs `check` on every client with its existing files in place.
fn each(check: impl Fn(&Case, &Home, &Clients)) {
    for case in CASES {
        let home = Home::new();
        for (rel, text) in case.files {
            home.write(rel, text);
        }
        check(case, &home, &home.clients());
    }
}

fn snapshot(case: &Case, home: &Home) -> Vec<Option<String>> {
    case.files.iter().map(|(rel, _)| home.read(rel)).collect()
}

fn originals(case: &Case) -> Vec<Option<String>> {
    case.files.iter().map(|(_, text)| Some((*text).to_owned())).collect()
}

/// Every line of `before` is still in `after`, in order: only Switchboard's lines were added or changed.
fn keeps_lines(before: &str, after: &str, id: ClientId) {
    let mut rest = after.lines();
    for line in
        before.lines().filter(|l| !l.contains("\"model\"") && !l.starts_with("model =") && !l.contains("\"env\": {"))
    {
        // A new sibling after it may give it a comma.
        let line = line.trim_end_matches(',');
        assert!(rest.any(|l| l.trim_end_matches(',') == line), "{id}: line {line:?} of the original is gone:\n{after}");
    }
}

#[test]
fn connect_changes_only_switchboards_keys_and_disconnect_restores_the_bytes() {
    each(|case, home, clients| {
        let connected = clients.connect(case.id, &connection(case.id, 7352, "sonnet-alias")).unwrap();
        assert!(connected.changed, "{}", case.id);
        for ((rel, before), after) in case.files.iter().zip(snapshot(case, home)) {
            keeps_lines(before, &after.unwrap(), case.id);
            let _ = rel;
        }
        let written = clients.written(case.id).unwrap().unwrap();
        let expected_base = if matches!(case.id, ClientId::ClaudeCode | ClientId::GeminiCli) {
            "http://127.0.0.1:7352"
        } else {
            "http://127.0.0.1:7352/v1"
        };
        assert_eq!(written.base_url.as_deref(), Some(expected_base), "{}", case.id);
        if case.id != ClientId::Zed {
            assert_eq!(
                written.token.as_ref().map(|t| t.expose_secret().to_owned()).as_deref(),
                Some("sb-test-token-0123456789")
            );
        }
        assert_eq!(written.aliases.get(case.id.slots()[0].id).map(String::as_str), Some("sonnet-alias"), "{}", case.id);
        let status = clients.status(case.id, &endpoint(7352));
        assert_eq!(status.state, State::Connected, "{}", case.id);
        assert_eq!(status.app.as_deref(), Some("Test app"));
        // The token is in the client's file, never in Switchboard's records.
        for record in home.records() {
            let text = String::from_utf8_lossy(&std::fs::read(&record).unwrap()).into_owned();
            assert!(!text.contains("sb-test-token-0123456789"), "{}: {} holds the token", case.id, record.display());
        }

        let disconnected = clients.disconnect(case.id).unwrap();
        assert!(disconnected.files.iter().all(|(_, r)| *r == Restored::Exactly), "{}: {disconnected:?}", case.id);
        assert_eq!(snapshot(case, home), originals(case), "{}", case.id);
        assert!(home.records().is_empty(), "{}: records left: {:?}", case.id, home.records());
        assert_eq!(clients.status(case.id, &endpoint(7352)).state, State::NotConnected);
    });
}

#[test]
fn a_second_connect_is_a_no_op() {
    each(|case, home, clients| {
        clients.connect(case.id, &connection(case.id, 7352, "a")).unwrap();
        let after_first = snapshot(case, home);
        let again = clients.connect(case.id, &connection(case.id, 7352, "a")).unwrap();
        assert!(!again.changed, "{}", case.id);
        assert_eq!(snapshot(case, home), after_first);
    });
}

#[test]
fn reconnect_with_a_new_port_changes_only_our_keys_and_keeps_the_first_original() {
    each(|case, home, clients| {
        clients.connect(case.id, &connection(case.id, 7352, "a")).unwrap();
        assert!(
            matches!(clients.status(case.id, &endpoint(7353)).state, State::Drifted { .. }),
            "{}: the port moved",
            case.id
        );
        let again = clients.connect(case.id, &connection(case.id, 7353, "b")).unwrap();
        assert!(again.changed);
        let all: String = snapshot(case, home).into_iter().flatten().collect();
        assert!(all.contains("127.0.0.1:7353") && !all.contains("127.0.0.1:7352"), "{}:\n{all}", case.id);
        assert_eq!(clients.status(case.id, &endpoint(7353)).state, State::Connected);
        clients.disconnect(case.id).unwrap();
        assert_eq!(snapshot(case, home), originals(case), "{}", case.id);
    });
}

#[test]
fn disconnect_after_the_person_edited_their_own_settings_keeps_their_edit() {
    each(|case, home, clients| {
        clients.connect(case.id, &connection(case.id, 7352, "sonnet-alias")).unwrap();
        home.edit(case.user_edit);
        assert_eq!(clients.status(case.id, &endpoint(7352)).state, State::Connected, "{}", case.id);
        let disconnected = clients.disconnect(case.id).unwrap();
        let (rel, from, to) = case.user_edit;
        for ((file, original), (path, restored)) in case.files.iter().zip(&disconnected.files) {
            let now = home.read(file).unwrap();
            if *file == rel {
                assert_eq!(*restored, Restored::KeysOnly, "{}: {}", case.id, path.display());
                assert_eq!(now, original.replacen(from, to, 1), "{}: only the person's edit is left", case.id);
            } else {
                assert_eq!(now, *original, "{}", case.id);
            }
        }
    });
}

#[test]
fn disconnect_leaves_a_key_the_person_changed_as_they_set_it() {
    each(|case, home, clients| {
        clients.connect(case.id, &connection(case.id, 7352, "sonnet-alias")).unwrap();
        home.edit(case.our_edit);
        let state = clients.status(case.id, &endpoint(7352)).state;
        assert!(matches!(state, State::Drifted { .. }), "{}: {state:?}", case.id);
        clients.disconnect(case.id).unwrap();
        let (rel, _, to) = case.our_edit;
        let now = home.read(rel).unwrap();
        assert!(now.contains(to), "{}: the person's value is kept:\n{now}", case.id);
        // Continue's entry is one list item: edited by the person, the whole item is theirs.
        if case.id != ClientId::Continue {
            assert!(!now.contains("127.0.0.1:7352"), "{}: Switchboard's other keys are gone:\n{now}", case.id);
        }
    });
}

#[test]
fn disconnect_after_the_file_was_deleted_leaves_it_deleted() {
    each(|case, home, clients| {
        clients.connect(case.id, &connection(case.id, 7352, "a")).unwrap();
        let (rel, _) = case.files[0];
        std::fs::remove_file(home.home.join(rel)).unwrap();
        assert!(matches!(clients.status(case.id, &endpoint(7352)).state, State::Drifted { .. }));
        let disconnected = clients.disconnect(case.id).unwrap();
        assert_eq!(disconnected.files[0].1, Restored::Untouched);
        assert_eq!(home.read(rel), None);
        assert!(home.records().is_empty());
    });
}

#[test]
fn an_unparsable_file_is_refused_untouched_and_named_by_line() {
    each(|case, home, clients| {
        let (rel, broken, line) = case.broken;
        home.write(rel, broken);
        let before = snapshot(case, home);
        let error = clients.connect(case.id, &connection(case.id, 7352, "a")).unwrap_err();
        match &error {
            ClientError::Unparsable { path, line: at, .. } => {
                assert!(path.ends_with(rel), "{}: {error}", case.id);
                assert_eq!(*at, Some(line), "{}: {error}", case.id);
            }
            other => panic!("{}: {other:?}", case.id),
        }
        assert!(error.to_string().contains(&format!("line {line}")), "{error}");
        assert_eq!(snapshot(case, home), before, "{}: nothing was written", case.id);
        assert!(home.records().is_empty());
        assert!(
            matches!(clients.status(case.id, &endpoint(7352)).state, State::Unreadable { line: Some(l), .. } if l == line)
        );
    });
}

#[test]
fn a_file_that_became_unparsable_is_not_touched_by_disconnect() {
    each(|case, home, clients| {
        clients.connect(case.id, &connection(case.id, 7352, "a")).unwrap();
        let (rel, broken, _) = case.broken;
        home.write(rel, broken);
        let before = snapshot(case, home);
        assert!(matches!(clients.disconnect(case.id), Err(ClientError::Unparsable { .. })), "{}", case.id);
        assert_eq!(snapshot(case, home), before);
        assert!(!home.records().is_empty(), "{}: the record stays so a later Disconnect can finish", case.id);
    });
}

#[test]
fn a_client_with_no_config_yet_gets_new_private_files_and_disconnect_removes_them() {
    for case in CASES {
        let home = Home::new();
        let clients = home.clients();
        let connected = clients.connect(case.id, &connection(case.id, 7352, "a")).unwrap();
        assert!(connected.warnings.iter().any(|w| w.contains("not on PATH")), "{}: {:?}", case.id, connected.warnings);
        for (rel, _) in case.files {
            let path = home.home.join(rel);
            assert!(path.is_file(), "{}: {}", case.id, path.display());
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
                assert_eq!(std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
            }
        }
        let disconnected = clients.disconnect(case.id).unwrap();
        assert!(disconnected.files.iter().all(|(_, r)| *r == Restored::Removed), "{}: {disconnected:?}", case.id);
        assert_eq!(std::fs::read_dir(&home.home).unwrap().count(), 0, "{}: the folders it made are gone", case.id);
    }
}

#[test]
fn an_installed_client_is_found_on_path_and_its_version_read() {
    let home = Home::new();
    home.install("codex");
    let clients = home.clients();
    let status = clients.status(ClientId::Codex, &endpoint(7352));
    assert_eq!(status.installed.binary, Some(home.bin.join("codex")));
    assert!(!status.installed.config_dir);
    assert_eq!(clients.version(ClientId::Codex).as_deref(), Some("9.9.9-fake"));
    let connected = clients.connect(ClientId::Codex, &connection(ClientId::Codex, 7352, "a")).unwrap();
    assert!(connected.warnings.is_empty(), "{:?}", connected.warnings);
    assert_eq!(clients.version(ClientId::ClaudeCode), None);
}

#[test]
fn a_read_only_file_is_refused_with_nothing_half_written() {
    each(|case, home, clients| {
        let paths: Vec<PathBuf> = case.files.iter().map(|(rel, _)| home.home.join(rel)).collect();
        let last = paths.last().unwrap();
        set_readonly(last, true);
        let error = clients.connect(case.id, &connection(case.id, 7352, "a")).unwrap_err();
        assert!(matches!(&error, ClientError::ReadOnly { path } if path == last), "{}: {error:?}", case.id);
        assert!(error.to_string().contains("read-only"), "{error}");
        set_readonly(last, false);
        assert_eq!(snapshot(case, home), originals(case), "{}", case.id);
        assert!(home.records().is_empty());
    });
}

fn set_readonly(path: &Path, readonly: bool) {
    let mut permissions = std::fs::metadata(path).unwrap().permissions();
    permissions.set_readonly(readonly);
    std::fs::set_permissions(path, permissions).unwrap();
}

#[test]
fn a_symlinked_config_stays_a_symlink() {
    let home = Home::new();
    let real = home.home.join("dotfiles/settings.json");
    std::fs::create_dir_all(real.parent().unwrap()).unwrap();
    std::fs::write(&real, "{ \"theme\": \"dark\" }\n").unwrap();
    std::fs::create_dir_all(home.home.join(".claude")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&real, home.home.join(".claude/settings.json")).unwrap();
    #[cfg(not(unix))]
    return;
    let clients = home.clients();
    clients.connect(ClientId::ClaudeCode, &connection(ClientId::ClaudeCode, 7352, "a")).unwrap();
    let link = std::fs::symlink_metadata(home.home.join(".claude/settings.json")).unwrap();
    assert!(link.file_type().is_symlink());
    assert!(std::fs::read_to_string(&real).unwrap().contains("ANTHROPIC_BASE_URL"));
    clients.disconnect(ClientId::ClaudeCode).unwrap();
    assert_eq!(std::fs::read_to_string(&real).unwrap(), "{ \"theme\": \"dark\" }\n");
}

#[test]
fn slots_fall_back_to_the_first_slots_alias() {
    let home = Home::new();
    let clients = home.clients();
    let mut conn = connection(ClientId::ClaudeCode, 7352, "main-alias");
    conn.aliases.insert("haiku".into(), "fast-alias".into());
    clients.connect(ClientId::ClaudeCode, &conn).unwrap();
    let aliases = clients.written(ClientId::ClaudeCode).unwrap().unwrap().aliases;
    assert_eq!(aliases["opus"], "main-alias");
    assert_eq!(aliases["haiku"], "fast-alias");
    assert_eq!(aliases["subagent"], "main-alias");
}

#[test]
fn client_ids_round_trip() {
    for id in ClientId::ALL {
        assert_eq!(ClientId::parse(id.as_str()), Some(id));
        assert!(!id.slots().is_empty());
    }
    assert!(matches!("cursor".parse::<ClientId>(), Err(ClientError::Unknown(_))));
}

#[test]
fn endpoint_of_an_unspecified_bind_is_loopback() {
    assert_eq!(Endpoint::local("0.0.0.0".parse().unwrap(), 7352).root, "http://127.0.0.1:7352");
    assert_eq!(Endpoint::local("::".parse().unwrap(), 1).root, "http://127.0.0.1:1");
    assert_eq!(Endpoint::local("::1".parse().unwrap(), 2).root, "http://[::1]:2");
    assert_eq!(endpoint(5).v1(), "http://127.0.0.1:5/v1");
}

#[test]
fn reconnect_after_the_person_edited_keeps_their_edit_at_disconnect() {
    each(|case, home, clients| {
        clients.connect(case.id, &connection(case.id, 7352, "a")).unwrap();
        home.edit(case.user_edit);
        clients.connect(case.id, &connection(case.id, 7353, "b")).unwrap();
        clients.disconnect(case.id).unwrap();
        let (rel, from, to) = case.user_edit;
        for (file, original) in case.files {
            let expected = if *file == rel { original.replacen(from, to, 1) } else { (*original).to_owned() };
            assert_eq!(home.read(file).unwrap(), expected, "{}: {file}", case.id);
        }
    });
}

#[test]
fn a_file_taken_over_by_another_tool_shows_as_drifted() {
    let home = Home::new();
    let clients = home.clients();
    clients.connect(ClientId::ClaudeCode, &connection(ClientId::ClaudeCode, 7352, "a")).unwrap();
    home.edit((".claude/settings.json", "http://127.0.0.1:7352", "https://other-gateway.example"));
    match clients.status(ClientId::ClaudeCode, &endpoint(7352)).state {
        State::Drifted { reason } => assert!(reason.contains("points at https://other-gateway.example"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // Reconnect takes it back.
    assert!(clients.connect(ClientId::ClaudeCode, &connection(ClientId::ClaudeCode, 7352, "a")).unwrap().changed);
    assert_eq!(clients.status(ClientId::ClaudeCode, &endpoint(7352)).state, State::Connected);
}

#[test]
fn a_damaged_record_is_reported_not_guessed_at() {
    let home = Home::new();
    let clients = home.clients();
    clients.connect(ClientId::Codex, &connection(ClientId::Codex, 7352, "a")).unwrap();
    std::fs::write(home.data.join("clients/codex.json"), "{ not json").unwrap();
    assert!(
        matches!(clients.status(ClientId::Codex, &endpoint(7352)).state, State::Drifted { reason } if reason.contains("damaged"))
    );
    assert!(matches!(clients.disconnect(ClientId::Codex), Err(ClientError::Record { .. })));
    assert!(matches!(clients.disconnect(ClientId::Opencode), Err(ClientError::NotConnected { .. })));
}
