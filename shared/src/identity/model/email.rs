//! An email address as identity compares them: trimmed and lower-case.

use std::fmt;

use super::Error;

/// A plausible email address, trimmed and lower-cased (two spellings of one address are one).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Parses `raw`; a value that cannot be an address is refused, naming `field`.
    pub fn parse(raw: &str, field: &str) -> Result<Self, Error> {
        let email = raw.trim().to_lowercase();
        let plausible = email.len() <= 254
            && email
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if plausible {
            Ok(Self(email))
        } else {
            Err(Error::invalid(field, "invalid", "not an email address"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        let e = Email::parse("  Ada@Example.COM ", "email").map(Email::into_string).ok();
        assert_eq!(e.as_deref(), Some("ada@example.com"));
    }

    #[test]
    fn what_cannot_be_an_address_is_refused_naming_the_field() {
        for bad in
            ["", "ada", "@example.com", "ada@example", "ada@.example.com", "a da@example.com", "a\u{7}@x.io"]
        {
            match Email::parse(bad, "to") {
                Err(Error::Invalid(errors)) => {
                    assert_eq!(errors.len(), 1, "{bad}");
                    assert_eq!(
                        (errors[0].field.as_str(), errors[0].code.as_str()),
                        ("to", "invalid"),
                        "{bad}"
                    );
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long, "email").is_err());
    }
}
