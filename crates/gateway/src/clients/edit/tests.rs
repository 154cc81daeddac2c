//! The editors: a change touches only its key; comments, trailing commas, indentation and CRLF survive; what
//! cannot be read names its line.

use serde_json::{Value, json};

use super::{Format, Seg, parse};

fn path(p: &str) -> Vec<Seg> {
    p.split('.').map(Seg::key).collect()
}

/// Sets `at` to `value` in `input` and expects exactly `expected`; then removes it again and expects `input`
/// back when `round_trip` (the key was not there before).
fn check(format: Format, input: &str, at: &[Seg], value: Value, expected: &str, round_trip: bool) {
    let mut doc = parse(format, input).unwrap_or_else(|e| panic!("{format:?} did not parse: {e:?}"));
    doc.set(at, &value).unwrap();
    assert_eq!(doc.render(), expected, "{format:?} set");
    assert_eq!(doc.get(at), Some(value.clone()));
    let mut again = parse(format, expected).unwrap();
    assert_eq!(again.get(at), Some(value.clone()), "{format:?} reads back what it wrote");
    again.set(at, &value).unwrap();
    assert_eq!(again.render(), expected, "{format:?} setting the same value again changes nothing");
    if round_trip {
        doc.remove(at).unwrap();
        assert_eq!(doc.render(), input, "{format:?} remove");
    }
}

fn check_error(format: Format, input: &str, line: usize, column: Option<usize>) {
    let error = parse(format, input).err().unwrap_or_else(|| panic!("{format:?} parsed {input:?}"));
    assert_eq!(error.line, Some(line), "{format:?}: {error:?}");
    if column.is_some() {
        assert_eq!(error.column, column, "{format:?}: {error:?}");
    }
}

#[test]
fn json_keeps_comments_trailing_commas_and_indent() {
    let input =
        "{\n    // my theme\n    \"theme\": \"dark\", /* kept */\n    \"env\": {\n        \"FOO\": \"1\",\n    },\n}\n";
    let expected = "{\n    // my theme\n    \"theme\": \"dark\", /* kept */\n    \"env\": {\n        \"FOO\": \"1\",\n        \"BAR\": \"2\",\n    },\n}\n";
    check(Format::Jsonc, input, &path("env.BAR"), json!("2"), expected, true);
}

#[test]
fn json_replaces_a_value_in_place() {
    let input = "{\n  \"a\": 1,\n  // the model\n  \"model\": \"old\",\n  \"z\": true\n}\n";
    let expected = "{\n  \"a\": 1,\n  // the model\n  \"model\": \"new\",\n  \"z\": true\n}\n";
    check(Format::Jsonc, input, &path("model"), json!("new"), expected, false);
}

#[test]
fn json_creates_objects_on_the_way_and_reports_them() {
    let mut doc = parse(Format::Jsonc, "").unwrap();
    let created = doc.set(&path("security.auth.selectedType"), &json!("openai")).unwrap();
    assert_eq!(created, vec![path("security"), path("security.auth")]);
    let text = doc.render();
    assert!(text.ends_with("}\n"), "{text}");
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"security": {"auth": {"selectedType": "openai"}}})
    );
}

#[test]
fn json_merges_an_object_value_key_by_key() {
    let input = "{\n  \"p\": {\n    // port below\n    \"url\": \"http://a:1\",\n    \"old\": 1\n  }\n}\n";
    let mut doc = parse(Format::Jsonc, input).unwrap();
    doc.set(&path("p"), &json!({"url": "http://a:2"})).unwrap();
    assert_eq!(doc.render(), "{\n  \"p\": {\n    // port below\n    \"url\": \"http://a:2\"\n  }\n}\n");
}

#[test]
fn json_keeps_crlf() {
    let input = "{\r\n  \"a\": 1\r\n}\r\n";
    let mut doc = parse(Format::Jsonc, input).unwrap();
    doc.set(&path("b"), &json!("x")).unwrap();
    assert_eq!(doc.render(), "{\r\n  \"a\": 1,\r\n  \"b\": \"x\"\r\n}\r\n");
}

#[test]
fn json_refuses_a_non_object_parent() {
    let mut doc = parse(Format::Jsonc, "{\"env\": \"oops\"}").unwrap();
    let error = doc.set(&path("env.X"), &json!("1")).unwrap_err();
    assert!(error.0.contains("`env` is not an object"), "{error:?}");
    assert_eq!(doc.render(), "{\"env\": \"oops\"}");
}

#[test]
fn json_errors_name_the_line() {
    check_error(Format::Jsonc, "{\n  \"a\": 1\n  \"b\": 2\n}\n", 2, Some(9));
    check_error(Format::Jsonc, "{\n  \"a\": 1,\n  \"b\": \n}", 4, None);
    check_error(Format::Jsonc, "[1, 2]", 1, Some(1));
    check_error(Format::Json, "{\n  // a comment Claude Code refuses\n  \"a\": 1\n}\n", 2, Some(3));
    check_error(Format::Json, "{\n  \"a\": 1,\n}\n", 3, Some(1));
}

#[test]
fn toml_keeps_comments_order_and_formatting() {
    let input = "# my codex\nmodel = \"o3\"  # the usual\napproval_policy = \"never\"\n\n[tui]\nnotifications = true\n";
    let expected =
        "# my codex\nmodel = \"code\"  # the usual\napproval_policy = \"never\"\n\n[tui]\nnotifications = true\n";
    check(Format::Toml, input, &path("model"), json!("code"), expected, false);
}

#[test]
fn toml_adds_a_table_with_its_own_header_and_removes_it_cleanly() {
    let input = "model = \"o3\"\n\n[tui]\nnotifications = true\n";
    let expected = "model = \"o3\"\n\n[tui]\nnotifications = true\n\n[model_providers.switchboard]\nname = \"Switchboard\"\nbase_url = \"http://127.0.0.1:7352/v1\"\n";
    let value = json!({"name": "Switchboard", "base_url": "http://127.0.0.1:7352/v1"});
    let mut doc = parse(Format::Toml, input).unwrap();
    let created = doc.set(&path("model_providers.switchboard"), &value).unwrap();
    assert_eq!(doc.render(), expected);
    assert_eq!(created, vec![path("model_providers")]);
    doc.remove(&path("model_providers.switchboard")).unwrap();
    doc.remove(&path("model_providers")).unwrap();
    assert_eq!(doc.render(), input);
}

#[test]
fn toml_new_root_key_goes_before_the_tables() {
    let input = "[tui]\nnotifications = true\n";
    let mut doc = parse(Format::Toml, input).unwrap();
    doc.set(&path("model_provider"), &json!("switchboard")).unwrap();
    assert_eq!(doc.render(), "model_provider = \"switchboard\"\n[tui]\nnotifications = true\n");
}

#[test]
fn toml_errors_name_the_line() {
    check_error(Format::Toml, "a = 1\nb = \n", 2, None);
    check_error(Format::Toml, "[x]\n[x]\n", 2, None);
}

#[test]
fn dotenv_edits_line_by_line() {
    let input = "# my keys\nexport OTHER=1\nGEMINI_API_KEY=old # mine\n\nLAST='x y'";
    let expected = "# my keys\nexport OTHER=1\nGEMINI_API_KEY=sb-new\n\nLAST='x y'";
    check(Format::Dotenv, input, &path("GEMINI_API_KEY"), json!("sb-new"), expected, false);
    let added = "# my keys\nexport OTHER=1\nGEMINI_API_KEY=old # mine\n\nLAST='x y'\nNEW=http://127.0.0.1:7352\n";
    check(Format::Dotenv, input, &path("NEW"), json!("http://127.0.0.1:7352"), added, false);
}

#[test]
fn dotenv_reads_quotes_exports_and_multiline_values_and_keeps_crlf() {
    let input = "A=\"one\\ntwo\"\r\nexport B = 'b' \r\nC=\"first\r\nsecond\"\r\nD=plain # comment\r\n";
    let doc = parse(Format::Dotenv, input).unwrap();
    assert_eq!(doc.get(&path("A")), Some(json!("one\ntwo")));
    assert_eq!(doc.get(&path("B")), Some(json!("b")));
    assert_eq!(doc.get(&path("C")), Some(json!("first\r\nsecond")));
    assert_eq!(doc.get(&path("D")), Some(json!("plain")));
    let mut doc = doc;
    doc.set(&path("E"), &json!("e")).unwrap();
    assert_eq!(doc.render(), format!("{input}E=e\r\n"));
}

#[test]
fn dotenv_errors_name_the_line() {
    check_error(Format::Dotenv, "A=1\nthis is not a setting\n", 2, Some(1));
    check_error(Format::Dotenv, "A=1\nB=\"never closed\nC=3\n", 2, Some(1));
}

const CONTINUE: &str = "\
name: My setup   # mine
version: 0.0.1
schema: v1

models:
  # the local one
  - name: Local
    provider: ollama
    model: qwen2.5-coder
    roles:
      - autocomplete

context:
  - provider: code
";

fn item() -> Vec<Seg> {
    vec![Seg::key("models"), Seg::Item { field: "name".into(), value: "Switchboard".into() }]
}

#[test]
fn yaml_appends_an_item_to_the_list_and_takes_it_out_again() {
    let value = json!({"name": "Switchboard", "provider": "openai", "model": "code", "roles": ["chat", "edit"]});
    let expected = CONTINUE.replace(
        "      - autocomplete\n",
        "      - autocomplete\n  - name: \"Switchboard\"\n    provider: \"openai\"\n    model: \"code\"\n    roles:\n      - \"chat\"\n      - \"edit\"\n",
    );
    check(Format::Yaml, CONTINUE, &item(), value.clone(), &expected, true);
    // Replacing it touches only its own lines.
    let mut doc = parse(Format::Yaml, &expected).unwrap();
    let mut changed = value;
    changed["model"] = json!("fast");
    doc.set(&item(), &changed).unwrap();
    assert_eq!(doc.render(), expected.replace("model: \"code\"", "model: \"fast\""));
}

#[test]
fn yaml_creates_the_list_when_there_is_none() {
    let input = "name: x\r\nversion: 1.0.0\r\n";
    let mut doc = parse(Format::Yaml, input).unwrap();
    let created = doc.set(&item(), &json!({"name": "Switchboard", "model": "m"})).unwrap();
    assert_eq!(created, vec![path("models")]);
    assert_eq!(
        doc.render(),
        "name: x\r\nversion: 1.0.0\r\nmodels:\r\n  - name: \"Switchboard\"\r\n    model: \"m\"\r\n"
    );
    doc.remove(&item()).unwrap();
    doc.remove(&path("models")).unwrap();
    assert_eq!(doc.render(), input);
}

#[test]
fn yaml_handles_an_indentless_list_and_an_empty_flow_list() {
    let indentless = "models:\n- name: A\n  model: a\nother: 1\n";
    let mut doc = parse(Format::Yaml, indentless).unwrap();
    doc.set(&item(), &json!({"name": "Switchboard"})).unwrap();
    assert_eq!(doc.render(), "models:\n- name: A\n  model: a\n- name: \"Switchboard\"\nother: 1\n");
    let mut doc = parse(Format::Yaml, "models: []\n").unwrap();
    doc.set(&item(), &json!({"name": "Switchboard"})).unwrap();
    assert_eq!(doc.render(), "models:\n  - name: \"Switchboard\"\n");
}

#[test]
fn yaml_refuses_a_flow_list_it_cannot_edit_and_leaves_it() {
    let input = "models: [{name: A}]\n";
    let mut doc = parse(Format::Yaml, input).unwrap();
    assert!(doc.set(&item(), &json!({"name": "Switchboard"})).is_err());
    assert_eq!(doc.render(), input);
}

#[test]
fn yaml_sets_top_level_scalars() {
    let mut doc = parse(Format::Yaml, "").unwrap();
    doc.set(&path("name"), &json!("Local config")).unwrap();
    doc.set(&path("version"), &json!("1.0.0")).unwrap();
    assert_eq!(doc.render(), "name: \"Local config\"\nversion: \"1.0.0\"\n");
    let mut doc = parse(Format::Yaml, "models:\n  - name: A\n").unwrap();
    doc.set(&path("schema"), &json!("v1")).unwrap();
    assert_eq!(doc.render(), "schema: \"v1\"\nmodels:\n  - name: A\n");
}

#[test]
fn yaml_errors_name_the_line() {
    check_error(Format::Yaml, "name: x\nmodels:\n  - name: [unclosed\n", 4, None);
    check_error(Format::Yaml, "- a\n- b\n", 1, Some(1));
}
