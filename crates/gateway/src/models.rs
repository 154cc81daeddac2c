//! The model list behind `GET /v1/models`, in OpenAI's list shape: every alias, then every `provider/model` an
//! alias can reach, then every model the providers list.

use serde::Serialize;

use crate::routing::Resolver;

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
    pub fn aliases(names: &[String], resolver: &Resolver) -> ModelList {
        let mut list = ModelList { object: "list", data: Vec::new() };
        for name in names {
            list.push(name.clone(), "switchboard");
        }
        for name in names {
            if let Ok(resolution) = resolver.resolve(name) {
                for target in resolution.targets {
                    list.push(target.label(), target.provider.id());
                }
            }
        }
        list
    }

    /// Adds a model unless one with that id is already listed.
    pub fn push(&mut self, id: String, owned_by: &str) {
        if self.data.iter().all(|m| m.id != id) {
            self.data.push(ModelEntry { id, object: "model", created: 0, owned_by: owned_by.to_owned() });
        }
    }

    pub fn get(&self, id: &str) -> Option<&ModelEntry> {
        self.data.iter().find(|m| m.id == id)
    }
}
