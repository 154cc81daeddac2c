//! The model list behind `GET /v1/models`: every alias, then every `provider/model` an alias can reach, in
//! OpenAI's list shape. Provider model lists fetched from upstreams join this list with the Gateway core issue.

use serde::Serialize;

use crate::config::Config;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ModelEntry {
    pub id: String,
    pub object: &'static str,
    pub created: u64,
    pub owned_by: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelList {
    pub object: &'static str,
    pub data: Vec<ModelEntry>,
}

impl ModelList {
    pub fn from_config(config: &Config) -> ModelList {
        let mut data: Vec<ModelEntry> = config
            .aliases
            .iter()
            .map(|alias| ModelEntry {
                id: alias.name.clone(),
                object: "model",
                created: 0,
                owned_by: "switchboard".into(),
            })
            .collect();
        for target in config.aliases.iter().flat_map(|a| &a.targets) {
            if data.iter().any(|m| &m.id == target) {
                continue;
            }
            let provider = target.split_once('/').map_or("", |(p, _)| p);
            data.push(ModelEntry { id: target.clone(), object: "model", created: 0, owned_by: provider.to_owned() });
        }
        ModelList { object: "list", data }
    }

    pub fn get(&self, id: &str) -> Option<&ModelEntry> {
        self.data.iter().find(|m| m.id == id)
    }
}
