//! Apps: who may use the local endpoint. Every client presents an app token; the gateway keeps only each token's
//! SHA-256 digest and compares digests in constant time, so neither the database nor a timing side channel gives a
//! token away.

use subtle::ConstantTimeEq;

use crate::config::AppConfig;
use crate::store::token_digest as digest;

/// An app the gateway recognises; cheap to clone into request extensions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct App {
    /// The app's row in the database; `None` for apps from a headless config file.
    pub id: Option<i64>,
    pub name: String,
    /// The aliases this app may use; `None` allows every alias and direct `provider/model` names.
    pub allowed_aliases: Option<Vec<String>>,
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

    pub fn is_empty(&self) -> bool {
        self.apps.is_empty()
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn debug_never_shows_digests() {
        let shown = format!("{:?}", registry());
        assert_eq!(shown, r#"["scripts", "editor"]"#);
    }
}
