//! Apps: who may use the local endpoint. Every client presents an app token; the gateway keeps only each token's
//! SHA-256 digest and compares digests in constant time, so neither the database nor a timing side channel gives a
//! token away.
//!
//! The registry also holds each app's rate-limit window and the one of all apps together (`crate::limits`), so a
//! request carries its [`Gate`] in with its app; [`AppRegistry::open_windows`] finds each app's window again across
//! reloads.

use std::sync::Arc;
use std::time::Instant;

use subtle::ConstantTimeEq;

use crate::config::AppConfig;
use crate::limits::{Gate, LimitHit, Limits, Owner, Window};
use crate::store::token_digest as digest;

/// An app the gateway recognises; cheap to clone into request extensions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct App {
    /// The app's row in the database; `None` for apps from a headless config file.
    pub id: Option<i64>,
    pub name: String,
    /// The aliases this app may use; `None` allows every alias and direct `provider/model` names.
    pub allowed_aliases: Option<Vec<String>>,
    /// Its rate limits and loop guard, as configured.
    pub limits: Limits,
    /// The windows its requests are counted in, once the registry has opened them; the default admits everything.
    pub gate: Gate,
}

impl App {
    pub fn named(name: impl Into<String>) -> App {
        App { name: name.into(), ..App::default() }
    }

    /// Whether this app may use `model` (an alias, or a direct `provider/model` when it is not restricted).
    pub fn may_use(&self, model: &str) -> bool {
        self.allowed_aliases.as_ref().is_none_or(|allowed| allowed.iter().any(|a| a == model))
    }
}

#[derive(Default)]
pub struct AppRegistry {
    apps: Vec<(App, [u8; 32])>,
    /// Apps without a token (the chat window, which runs inside Switchboard): never authenticated, but limited.
    tokenless: Vec<App>,
    /// The window of all apps together, when `[limits]` sets any.
    all_apps: Option<Arc<Window>>,
}

/// Which limits refused a request last, for the Apps page: all apps' together, and each app's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LimitHits {
    pub all_apps: Option<LimitHit>,
    /// (app id, app name, its last hit), for apps whose limits refused a request since they were set.
    pub apps: Vec<(Option<i64>, String, LimitHit)>,
}

impl std::fmt::Debug for AppRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.apps.iter().map(|(app, _)| &app.name)).finish()
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "app {app:?}: environment variable {var} is not set; export it with the app's token (e.g. `export {var}=sb-…`)"
)]
pub struct MissingToken {
    pub app: String,
    pub var: String,
}

impl AppRegistry {
    /// Builds the registry from configured apps whose tokens live in environment variables.
    pub fn from_config(apps: &[AppConfig], env: impl Fn(&str) -> Option<String>) -> Result<AppRegistry, MissingToken> {
        let mut registry = AppRegistry::default();
        for app in apps.iter().filter(|a| a.enabled) {
            let Some(var) = &app.token_env else {
                tracing::warn!(app = %app.name, "the app has no token_env, so no request can use it; add token_env = \"VAR\"");
                continue;
            };
            let token = env(var)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| MissingToken { app: app.name.clone(), var: var.clone() })?;
            let mut entry = App::named(&app.name);
            entry.allowed_aliases.clone_from(&app.allowed_aliases);
            entry.limits = app.limits;
            registry.insert(entry, &token);
        }
        Ok(registry)
    }

    pub fn insert(&mut self, app: App, token: &str) {
        self.apps.push((app, digest(token)));
    }

    /// Adds an app whose token is known only by its digest (apps stored in the database).
    pub fn insert_digest(&mut self, app: App, digest: [u8; 32]) {
        self.apps.push((app, digest));
    }

    /// Adds an app that has no token (the built-in chat window): its requests come from inside the process, and it
    /// is here only so its limits apply to them.
    pub fn insert_tokenless(&mut self, app: App) {
        self.tokenless.push(app);
    }

    /// Each app's token digest, by name: what a shared registry keeps (`crate::postgres`).
    pub fn digests(&self) -> std::collections::HashMap<String, [u8; 32]> {
        self.apps.iter().map(|(app, digest)| (app.name.clone(), *digest)).collect()
    }

    /// Gives each app the id `ids` holds for its name (a shared registry's, the same on every replica), before
    /// [`AppRegistry::open_windows`].
    pub fn assign_ids(&mut self, ids: &std::collections::HashMap<String, i64>) {
        for app in self.all_mut() {
            app.id = ids.get(&app.name).copied();
        }
    }

    /// Whether no token opens anything.
    pub fn is_empty(&self) -> bool {
        self.apps.is_empty()
    }

    fn all(&self) -> impl Iterator<Item = &App> {
        self.apps.iter().map(|(app, _)| app).chain(&self.tokenless)
    }

    fn all_mut(&mut self) -> impl Iterator<Item = &mut App> {
        self.apps.iter_mut().map(|(app, _)| app).chain(&mut self.tokenless)
    }

    /// Gives every app its gate: its own window (for apps with limits) and the one of all apps together (when
    /// `all_apps` sets any). Windows are taken over from `previous` (the registry this one replaces), each app's
    /// found by its id, or its name for apps from a config file: counts survive a reload, under the new numbers.
    pub fn open_windows(&mut self, all_apps: &Limits, previous: Option<&AppRegistry>) {
        let now = Instant::now();
        let reuse = |window: Option<&Arc<Window>>, limits: Limits, owner: Owner| {
            let window = window.cloned()?;
            window.set(limits, owner);
            Some(window)
        };
        self.all_apps = (!all_apps.is_empty()).then(|| {
            reuse(previous.and_then(|p| p.all_apps.as_ref()), *all_apps, Owner::AllApps)
                .unwrap_or_else(|| Arc::new(Window::new(*all_apps, Owner::AllApps, now)))
        });
        let shared = self.all_apps.clone();
        for app in self.all_mut() {
            let window = (!app.limits.is_empty()).then(|| {
                let owner = || Owner::App(app.name.clone());
                let before = previous.and_then(|p| p.all().find(|old| same_app(old, app)));
                reuse(before.and_then(|old| old.gate.app_window()), app.limits, owner())
                    .unwrap_or_else(|| Arc::new(Window::new(app.limits, owner(), now)))
            });
            app.gate = Gate::new(window, shared.clone());
        }
    }

    /// `app` with the gate the registry holds for it (found by id, or by name), for requests that come in without a
    /// token: the chat window's. An app the registry does not know is returned as it is.
    pub fn with_gate(&self, mut app: App) -> App {
        if let Some(known) = self.all().find(|known| same_app(known, &app)) {
            app.gate = known.gate.clone();
        }
        app
    }

    /// The last refusal of each window, from memory.
    pub fn limit_hits(&self) -> LimitHits {
        let apps =
            self.all().filter_map(|app| Some((app.id, app.name.clone(), app.gate.app_window()?.last_hit()?))).collect();
        LimitHits { all_apps: self.all_apps.as_ref().and_then(|w| w.last_hit()), apps }
    }

    /// The app holding `token`. Every stored digest is compared, so the time taken does not depend on which app
    /// (if any) matched or on how much of the token was right.
    pub fn authenticate(&self, token: &str) -> Option<&App> {
        let presented = digest(token);
        let mut found = None;
        for (app, stored) in &self.apps {
            if bool::from(stored.ct_eq(&presented)) {
                found = Some(app);
            }
        }
        found
    }
}

/// The same app across two registries: by id when it has one (a renamed app stays itself), else by name.
fn same_app(a: &App, b: &App) -> bool {
    match (a.id, b.id) {
        (Some(a), Some(b)) => a == b,
        (None, None) => a.name == b.name,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::limits::{Limit, Now};

    fn registry() -> AppRegistry {
        let apps = [AppConfig::new("scripts", Some("A".into())), AppConfig::new("editor", Some("B".into()))];
        AppRegistry::from_config(&apps, |var| Some(format!("sb-token-{var}"))).unwrap()
    }

    #[test]
    fn tokens_identify_their_app() {
        let registry = registry();
        assert_eq!(registry.authenticate("sb-token-A").unwrap().name, "scripts");
        assert_eq!(registry.authenticate("sb-token-B").unwrap().name, "editor");
        assert!(registry.authenticate("sb-token-C").is_none());
        assert!(registry.authenticate("").is_none());
        assert!(registry.authenticate("sb-token-A ").is_none());
    }

    #[test]
    fn missing_token_variable_is_an_error_that_names_it() {
        let apps = [AppConfig::new("scripts", Some("SCRIPTS_TOKEN".into()))];
        let err = AppRegistry::from_config(&apps, |_| None).unwrap_err().to_string();
        assert!(err.contains("SCRIPTS_TOKEN") && err.contains("scripts"), "{err}");
        let err = AppRegistry::from_config(&apps, |_| Some(String::new())).unwrap_err();
        assert_eq!(err.var, "SCRIPTS_TOKEN");
    }

    /// An app named `name` allowed 2 requests a minute, with `all` for all apps together.
    fn limited(name: &str, id: Option<i64>, all: &Limits, previous: Option<&AppRegistry>) -> AppRegistry {
        let mut registry = AppRegistry::default();
        let app = App { id, limits: Limits { rpm: Some(2), ..Limits::default() }, ..App::named(name) };
        registry.insert(app, &format!("sb-token-{name}"));
        registry.insert(App::named("free"), "sb-token-free");
        registry.open_windows(all, previous);
        registry
    }

    #[test]
    fn windows_survive_a_reload_found_by_id_or_by_name() {
        let body = json!({ "model": "m" });
        let all = Limits { rpm: Some(100), ..Limits::default() };
        let first = limited("scripts", None, &all, None);
        let app = first.authenticate("sb-token-scripts").unwrap().clone();
        for _ in 0..2 {
            drop(app.gate.admit(&body, Now::current()).unwrap());
        }
        assert!(first.authenticate("sb-token-free").unwrap().gate.admit(&body, Now::current()).is_ok());
        let reloaded = limited("scripts", None, &all, Some(&first));
        let again = reloaded.authenticate("sb-token-scripts").unwrap();
        assert_eq!(again.gate, app.gate, "the same windows");
        assert_eq!(again.gate.admit(&body, Now::current()).err().map(|r| r.limit), Some(Limit::Rpm(2)));
        assert!(
            reloaded.limit_hits().apps.iter().any(|(_, name, hit)| name == "scripts" && hit.limit == Limit::Rpm(2))
        );

        // Another name (headless: another app) starts afresh; in the desktop the id says who it is.
        let renamed = limited("renamed", None, &all, Some(&reloaded));
        assert!(renamed.authenticate("sb-token-renamed").unwrap().gate.admit(&body, Now::current()).is_ok());
        let with_id = limited("a", Some(7), &all, None);
        drop(with_id.authenticate("sb-token-a").unwrap().gate.admit(&body, Now::current()).unwrap());
        drop(with_id.authenticate("sb-token-a").unwrap().gate.admit(&body, Now::current()).unwrap());
        let renamed = limited("b", Some(7), &all, Some(&with_id));
        assert!(renamed.authenticate("sb-token-b").unwrap().gate.admit(&body, Now::current()).is_err());
    }

    #[test]
    fn apps_without_limits_have_an_open_gate_and_the_chat_window_finds_its_own() {
        let mut registry = AppRegistry::default();
        registry.insert(App::named("free"), "sb-token-free");
        let chat =
            App { id: Some(1), limits: Limits { concurrent: Some(1), ..Limits::default() }, ..App::named("Chat") };
        registry.insert_tokenless(chat);
        registry.open_windows(&Limits::default(), None);
        assert!(registry.authenticate("sb-token-free").unwrap().gate.is_open());
        let asked = registry.with_gate(App { id: Some(1), ..App::named("Chat") });
        let _running = asked.gate.admit(&json!({}), Now::current()).unwrap();
        assert!(asked.gate.admit(&json!({}), Now::current()).is_err(), "one at a time");
        assert!(registry.with_gate(App::named("unknown")).gate.is_open());
        assert!(!registry.is_empty());
    }

    #[test]
    fn debug_never_shows_digests() {
        let shown = format!("{:?}", registry());
        assert_eq!(shown, r#"["scripts", "editor"]"#);
    }
}
