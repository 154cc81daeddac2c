//! Model names → an ordered plan of upstream targets.
//!
//! A client names an alias (`general`) or a provider's model directly (`anthropic/claude-sonnet-4-5`). The
//! resolver finds the alias's targets; `plan` then orders them for this request: the strategy (in order, or one
//! drawn by weight first), targets that cannot serve the request skipped (tools, images, a long context, JSON
//! schema), cooling-down targets moved last, and a conversation carrying signed thinking kept on the target that
//! signed it. The relay walks the plan, falling back only before the first byte reaches the client.

pub mod backoff;
pub mod catalog;
pub mod health;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::config::{AliasConfig, ModelConfig, Strategy, Timeouts};
use crate::protocol::neutral::{ChatRequest, Part};
use crate::providers::{Provider, Registry};
pub use catalog::{Capabilities, Catalog, Imported};
pub use health::Health;

/// One concrete place to send a request.
#[derive(Clone)]
pub struct Target {
    pub provider: Arc<dyn Provider>,
    /// The upstream's own model id.
    pub model: String,
    pub weight: u32,
    pub capabilities: Capabilities,
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

/// An alias with everything applied to requests through it.
#[derive(Debug, Clone, PartialEq)]
pub struct Alias {
    pub name: String,
    pub strategy: Strategy,
    pub params: serde_json::Map<String, serde_json::Value>,
    pub forced_params: serde_json::Map<String, serde_json::Value>,
    pub system_prefix: Option<String>,
    pub timeouts: Timeouts,
}

#[derive(Debug, Clone)]
pub struct Resolution {
    /// The alias the client named, if it named one.
    pub alias: Option<Arc<Alias>>,
    pub targets: Vec<Target>,
    pub timeouts: Timeouts,
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

/// What a request needs from a target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    pub tools: bool,
    pub vision: bool,
    pub json_schema: bool,
    /// A rough count of prompt tokens (characters / 4), to skip targets whose window is clearly too small.
    pub input_tokens: u64,
    /// The conversation carries thinking signed by a provider, which only that provider family accepts back.
    pub signed_thinking: bool,
}

impl Needs {
    pub fn of(request: &ChatRequest) -> Needs {
        let mut needs = Needs {
            tools: !request.tools.is_empty(),
            json_schema: matches!(
                request.response_format,
                Some(crate::protocol::neutral::ResponseFormat::JsonSchema { .. })
            ),
            ..Needs::default()
        };
        let mut chars: u64 = request.system.iter().map(|b| b.text.len() as u64).sum();
        let mut visit = |part: &Part, needs: &mut Needs| match part {
            Part::Text { text, .. } => chars += text.len() as u64,
            Part::Image { .. } => {
                needs.vision = true;
                chars += 4 * 1000;
            }
            Part::ToolCall { arguments, .. } => chars += arguments.len() as u64,
            Part::ToolResult { content, .. } => {
                for inner in content {
                    match inner {
                        Part::Text { text, .. } => chars += text.len() as u64,
                        Part::Image { .. } => needs.vision = true,
                        _ => {}
                    }
                }
            }
            Part::Thinking { text, signature } => {
                chars += text.len() as u64;
                needs.signed_thinking |= signature.as_deref().is_some_and(|s| !s.is_empty());
            }
            Part::RedactedThinking { .. } => needs.signed_thinking = true,
        };
        for message in &request.messages {
            for part in &message.content {
                visit(part, &mut needs);
            }
        }
        for tool in &request.tools {
            chars += tool.parameters.to_string().len() as u64 + tool.description.as_ref().map_or(0, |d| d.len() as u64);
        }
        needs.input_tokens = chars / 4;
        needs
    }
}

/// Why no target could take a request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("no target of {model:?} can serve this request: {}", .reasons.join("; "))]
pub struct NoTarget {
    pub model: String,
    pub reasons: Vec<String>,
}

/// A configured target before its provider is looked up: provider id, model, weight.
type TargetSpec = (String, String, u32);

/// The routing configuration: providers, aliases and the model catalog. Immutable; a change builds a new one.
#[derive(Default)]
pub struct Resolver {
    registry: Registry,
    aliases: HashMap<String, (Arc<Alias>, Vec<TargetSpec>)>,
    alias_names: Vec<String>,
    catalog: Catalog,
}

/// What routing learns while it runs, kept across configuration changes: target health, sticky conversations, and
/// hosts found without the Responses API their kind offers.
#[derive(Default)]
pub struct Memory {
    pub health: Health,
    /// Conversation key → the target that last answered it, for conversations that must stay put.
    sticky: Mutex<HashMap<u64, String>>,
    /// Provider id → the base URL that answered 404 or 405 for `/responses`. Read only when a configuration is
    /// built (`restore`); the request path reads the provider's own mark (`Endpoint::lacks_responses`).
    no_responses: Mutex<HashMap<String, String>>,
}

impl Memory {
    /// Remembers that `provider` has no `/responses` at its base URL: marked on the provider, so Responses clients
    /// are translated onto its chat completions from the next attempt on, and kept here for the next configuration.
    pub fn note_no_responses(&self, provider: &dyn Provider) {
        let endpoint = provider.endpoint();
        endpoint.mark_lacks_responses();
        let mut known = self.no_responses.lock().unwrap_or_else(|p| p.into_inner());
        known.insert(endpoint.id.clone(), endpoint.base_url.clone());
    }

    /// Marks the providers of a newly built `registry` (after a reload) that are known to have no `/responses`. A
    /// provider whose base URL changed is forgotten: the new address gets its own chance.
    pub fn restore(&self, registry: &Registry) {
        let mut known = self.no_responses.lock().unwrap_or_else(|p| p.into_inner());
        for provider in registry.iter() {
            let endpoint = provider.endpoint();
            match known.get(&endpoint.id) {
                Some(base_url) if *base_url == endpoint.base_url => endpoint.mark_lacks_responses(),
                Some(_) => {
                    known.remove(&endpoint.id);
                }
                None => {}
            }
        }
    }

    /// Remembers which target answered a conversation that must stay with it.
    pub fn remember(&self, conversation: u64, target: &Target) {
        let mut sticky = self.sticky.lock().unwrap_or_else(|p| p.into_inner());
        if sticky.len() >= STICKY_LIMIT {
            sticky.clear();
        }
        sticky.insert(conversation, target.label());
    }

    fn sticky_target(&self, conversation: u64) -> Option<String> {
        self.sticky.lock().unwrap_or_else(|p| p.into_inner()).get(&conversation).cloned()
    }
}

/// The most conversations remembered for sticky routing before the memory is cleared.
const STICKY_LIMIT: usize = 10_000;

impl Resolver {
    pub fn new(registry: Registry, aliases: &[AliasConfig], models: &[ModelConfig]) -> Resolver {
        let mut resolver = Resolver { registry, catalog: Catalog::new(models), ..Resolver::default() };
        for config in aliases {
            let targets = config
                .targets
                .iter()
                .enumerate()
                .filter_map(|(i, t)| {
                    let (provider, model) = t.split_once('/')?;
                    Some((provider.to_owned(), model.to_owned(), config.weights.get(i).copied().unwrap_or(1)))
                })
                .collect();
            let alias = Alias {
                name: config.name.clone(),
                strategy: config.strategy,
                params: config.params.clone(),
                forced_params: config.forced_params.clone(),
                system_prefix: config.system_prefix.clone(),
                timeouts: config.timeouts,
            };
            resolver.aliases.insert(config.name.clone(), (Arc::new(alias), targets));
            resolver.alias_names.push(config.name.clone());
        }
        resolver
    }

    /// This configuration with `imported` (the newest price catalog import's capabilities) below the shipped facts.
    pub fn with_imported(mut self, imported: Arc<Imported>) -> Resolver {
        self.catalog = self.catalog.with_imported(imported);
        self
    }

    /// A copy of this configuration with another import's capabilities (after "Update prices").
    pub fn rebuilt_with(&self, imported: Arc<Imported>) -> Resolver {
        Resolver {
            registry: self.registry.clone(),
            aliases: self.aliases.clone(),
            alias_names: self.alias_names.clone(),
            catalog: self.catalog.clone().with_imported(imported),
        }
    }

    /// What routing knows about models.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn alias_names(&self) -> &[String] {
        &self.alias_names
    }

    fn target(&self, provider: &str, model: &str, weight: u32) -> Option<Target> {
        let p = self.registry.get(provider)?;
        Some(Target {
            provider: p.clone(),
            model: model.to_owned(),
            weight,
            capabilities: self.catalog.lookup(provider, p.preset().id, model),
        })
    }

    pub fn resolve(&self, model: &str) -> Result<Resolution, ResolveError> {
        if let Some((alias, targets)) = self.aliases.get(model) {
            let targets = targets.iter().filter_map(|(p, m, w)| self.target(p, m, *w)).collect();
            return Ok(Resolution { alias: Some(alias.clone()), targets, timeouts: alias.timeouts });
        }
        let Some((provider, upstream_model)) = model.split_once('/') else {
            return Err(ResolveError::UnknownModel { model: model.to_owned(), aliases: self.alias_names.clone() });
        };
        match self.target(provider, upstream_model, 1) {
            Some(target) if !upstream_model.is_empty() => {
                Ok(Resolution { alias: None, targets: vec![target], timeouts: Timeouts::default() })
            }
            Some(_) => Err(ResolveError::UnknownModel { model: model.to_owned(), aliases: self.alias_names.clone() }),
            // Model ids such as `meta-llama/Llama-3-70b` contain a slash too: say which reading failed.
            None => {
                Err(ResolveError::UnknownProvider { provider: provider.to_owned(), aliases: self.alias_names.clone() })
            }
        }
    }

    /// The targets to try for this request, in order.
    pub fn plan(
        &self,
        client_model: &str,
        resolution: &Resolution,
        needs: &Needs,
        conversation: Option<u64>,
        memory: &Memory,
        now: Instant,
    ) -> Result<Vec<Target>, NoTarget> {
        let strategy = resolution.alias.as_ref().map_or(Strategy::Fallback, |a| a.strategy);
        let sticky = conversation.filter(|_| needs.signed_thinking).and_then(|key| memory.sticky_target(key));
        let cooling = |t: &str| memory.health.is_cooling(t, now);
        order(&resolution.targets, needs, strategy, sticky.as_deref(), cooling, backoff::unit_random())
            .map_err(|reasons| NoTarget { model: client_model.to_owned(), reasons })
    }
}

/// A conversation's identity for sticky routing: its system prompt and first message.
pub fn conversation_key(request: &ChatRequest) -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    for block in &request.system {
        block.text.hash(&mut hasher);
    }
    if let Some(first) = request.messages.first() {
        format!("{:?}", first.content).hash(&mut hasher);
    }
    hasher.finish()
}

/// The routing decision itself, free of clocks and randomness so it can be tested as a table.
fn order(
    targets: &[Target],
    needs: &Needs,
    strategy: Strategy,
    sticky: Option<&str>,
    cooling: impl Fn(&str) -> bool,
    unit: f64,
) -> Result<Vec<Target>, Vec<String>> {
    let mut reasons = Vec::new();
    let mut usable: Vec<Target> = Vec::new();
    for target in targets {
        match unfit(target, needs) {
            Some(reason) => reasons.push(format!("{} {reason}", target.label())),
            None => usable.push(target.clone()),
        }
    }
    if usable.is_empty() {
        if reasons.is_empty() {
            reasons.push("it has no target whose provider is configured; edit it in Aliases".to_owned());
        }
        return Err(reasons);
    }
    if strategy == Strategy::Weighted && usable.len() > 1 {
        let candidates: Vec<usize> = (0..usable.len()).filter(|&i| !cooling(&usable[i].label())).collect();
        let total: u64 = candidates.iter().map(|&i| u64::from(usable[i].weight)).sum();
        if total > 0 {
            let mut draw = (unit * total as f64) as u64;
            for &i in &candidates {
                let weight = u64::from(usable[i].weight);
                if draw < weight {
                    let chosen = usable.remove(i);
                    usable.insert(0, chosen);
                    break;
                }
                draw -= weight;
            }
        }
    }
    // Cooling targets go last (stable, so the strategy's order holds among the rest).
    usable.sort_by_key(|t| cooling(&t.label()));
    if let Some(label) = sticky
        && let Some(i) = usable.iter().position(|t| t.label() == label)
    {
        // Signed thinking is only valid at the provider that signed it.
        let chosen = usable.remove(i);
        let protocol = chosen.provider.protocol();
        usable.retain(|t| t.provider.id() == chosen.provider.id() && t.provider.protocol() == protocol);
        usable.insert(0, chosen);
    }
    Ok(usable)
}

/// Why `target` cannot serve a request with these needs, if it cannot.
fn unfit(target: &Target, needs: &Needs) -> Option<String> {
    let caps = &target.capabilities;
    if needs.tools && caps.tools == Some(false) {
        return Some("does not support tools".into());
    }
    if needs.vision && caps.vision == Some(false) {
        return Some("does not accept images".into());
    }
    if needs.json_schema
        && caps.json_schema == Some(false)
        && target.provider.protocol() != crate::protocol::Protocol::Anthropic
    {
        return Some("does not support JSON schema output".into());
    }
    if let Some(window) = caps.context_window
        && needs.input_tokens > window
    {
        return Some(format!("has a {window}-token window, too small for about {} tokens", needs.input_tokens));
    }
    None
}

#[cfg(test)]
mod tests;
