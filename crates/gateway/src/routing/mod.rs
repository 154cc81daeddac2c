//! Model names → upstream targets. A client names an alias (`general`) or a provider's model directly
//! (`anthropic/claude-sonnet-4-5`); the resolver answers with the targets to try, in order.
//!
//! Today the relay uses the first target; fallbacks, retries and cooldowns arrive with the Routing issue.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::AliasConfig;
use crate::providers::{Provider, Registry};

/// One concrete place to send a request.
#[derive(Clone)]
pub struct Target {
    pub provider: Arc<dyn Provider>,
    /// The upstream's own model id.
    pub model: String,
}

impl Target {
    /// `provider/model`, as shown to people and in headers.
    pub fn label(&self) -> String {
        format!("{}/{}", self.provider.id(), self.model)
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

#[derive(Debug, Clone)]
pub struct Resolution {
    /// The alias the client named, if it named one.
    pub alias: Option<String>,
    pub targets: Vec<Target>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ResolveError {
    #[error("model {model:?} is not an alias or a provider/model; available aliases: {}", list(.aliases))]
    UnknownModel { model: String, aliases: Vec<String> },
    #[error("provider {provider:?} is not configured; add it in Providers, or use one of the aliases: {}", list(.aliases))]
    UnknownProvider { provider: String, aliases: Vec<String> },
}

fn list(names: &[String]) -> String {
    if names.is_empty() { "none yet (create one in Aliases)".to_owned() } else { names.join(", ") }
}

#[derive(Clone, Default)]
pub struct Resolver {
    registry: Registry,
    aliases: HashMap<String, Vec<(String, String)>>,
    alias_names: Vec<String>,
}

impl Resolver {
    pub fn new(registry: Registry, aliases: &[AliasConfig]) -> Resolver {
        let mut resolver = Resolver { registry, ..Resolver::default() };
        for alias in aliases {
            let targets = alias
                .targets
                .iter()
                .filter_map(|t| t.split_once('/'))
                .map(|(provider, model)| (provider.to_owned(), model.to_owned()))
                .collect();
            resolver.aliases.insert(alias.name.clone(), targets);
            resolver.alias_names.push(alias.name.clone());
        }
        resolver
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn alias_names(&self) -> &[String] {
        &self.alias_names
    }

    pub fn resolve(&self, model: &str) -> Result<Resolution, ResolveError> {
        if let Some(targets) = self.aliases.get(model) {
            let targets = targets
                .iter()
                .filter_map(|(provider, model)| {
                    self.registry.get(provider).map(|p| Target { provider: p.clone(), model: model.clone() })
                })
                .collect();
            return Ok(Resolution { alias: Some(model.to_owned()), targets });
        }
        let Some((provider, upstream_model)) = model.split_once('/') else {
            return Err(ResolveError::UnknownModel { model: model.to_owned(), aliases: self.alias_names.clone() });
        };
        match self.registry.get(provider) {
            Some(p) if !upstream_model.is_empty() => Ok(Resolution {
                alias: None,
                targets: vec![Target { provider: p.clone(), model: upstream_model.to_owned() }],
            }),
            Some(_) => Err(ResolveError::UnknownModel { model: model.to_owned(), aliases: self.alias_names.clone() }),
            None => {
                // Model ids such as `meta-llama/Llama-3-70b` contain a slash too: say which reading failed.
                Err(ResolveError::UnknownProvider { provider: provider.to_owned(), aliases: self.alias_names.clone() })
            }
        }
    }
}
