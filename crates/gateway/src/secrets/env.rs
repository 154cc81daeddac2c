//! Headless key source: each provider's key comes from an environment variable, `key_env` in the config or
//! `SWITCHBOARD_KEY_<PROVIDER>` by convention. Read-only: a server's environment is managed by its operator.

use std::collections::HashMap;

use secrecy::SecretString;

use super::{SecretError, SecretStore};

#[derive(Debug, Default)]
pub struct EnvSecrets {
    /// account (provider id) → variable name, for providers whose config names one.
    vars: HashMap<String, String>,
}

impl EnvSecrets {
    pub fn new(vars: HashMap<String, String>) -> EnvSecrets {
        EnvSecrets { vars }
    }

    /// The variable read for `account`: the configured one, else `SWITCHBOARD_KEY_<ACCOUNT>`
    /// (upper-cased, with every character other than A–Z and 0–9 turned into `_`).
    pub fn var_for(&self, account: &str) -> String {
        self.vars.get(account).cloned().unwrap_or_else(|| conventional_var(account))
    }
}

pub fn conventional_var(account: &str) -> String {
    let suffix: String =
        account.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    format!("SWITCHBOARD_KEY_{suffix}")
}

impl SecretStore for EnvSecrets {
    fn get(&self, account: &str) -> Result<Option<SecretString>, SecretError> {
        Ok(std::env::var(self.var_for(account)).ok().filter(|v| !v.is_empty()).map(SecretString::from))
    }

    fn set(&self, account: &str, _secret: &SecretString) -> Result<(), SecretError> {
        Err(SecretError::Failed {
            action: "store",
            account: account.to_owned(),
            detail: format!("headless keys come from the environment; set {} instead", self.var_for(account)),
        })
    }

    fn delete(&self, account: &str) -> Result<(), SecretError> {
        self.set(account, &SecretString::from(String::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conventional_names() {
        assert_eq!(conventional_var("openai"), "SWITCHBOARD_KEY_OPENAI");
        assert_eq!(conventional_var("lm-studio.local"), "SWITCHBOARD_KEY_LM_STUDIO_LOCAL");
    }

    #[test]
    fn configured_variable_wins() {
        let env = EnvSecrets::new(HashMap::from([("mock".to_owned(), "MOCK_KEY".to_owned())]));
        assert_eq!(env.var_for("mock"), "MOCK_KEY");
        assert_eq!(env.var_for("groq"), "SWITCHBOARD_KEY_GROQ");
    }

    #[test]
    fn cannot_be_written() {
        let env = EnvSecrets::default();
        let err = env.set("groq", &SecretString::from("x")).unwrap_err().to_string();
        assert!(err.contains("SWITCHBOARD_KEY_GROQ"), "{err}");
    }
}
