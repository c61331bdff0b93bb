//! The kinds of personal data and secrets the scanner finds, with their patterns.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// What a finding is. The order of the variants is the priority used when two candidates
/// start at the same place: more specific kinds come first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum PiiKind {
    /// A PEM private-key block, `-----BEGIN … PRIVATE KEY-----` to `-----END …-----`.
    PrivateKey,
    /// A JSON Web Token whose header decodes to JSON with an `"alg"`.
    Jwt,
    /// The password in `scheme://user:password@host` (only the password is redacted).
    UrlPassword,
    /// A Slack incoming-webhook URL.
    SlackWebhook,
    /// An Anthropic API key, `sk-ant-…`.
    AnthropicKey,
    /// An OpenAI API key, `sk-…`, `sk-proj-…`.
    OpenaiKey,
    /// A GitHub token: `ghp_`, `gho_`, `ghs_`, `ghu_`, `ghr_`, `github_pat_`.
    GithubToken,
    /// A GitLab token: `glpat-` and the other `gl…-` prefixes.
    GitlabToken,
    /// A Slack token, `xox[baprs]-…` or an app token `xapp-…`.
    SlackToken,
    /// A Stripe key, `sk_live_`, `rk_live_`, `pk_live_`, `sk_test_`, …
    StripeKey,
    /// A Google API key, `AIza…`.
    GoogleApiKey,
    /// An AWS access key id, `AKIA…`, `ASIA…`.
    AwsAccessKey,
    /// An AWS secret access key in an assignment (`aws_secret_access_key = …`).
    AwsSecretKey,
    /// A high-entropy value assigned to a secret-sounding name (`api_key = "…"`).
    GenericSecret,
    /// An e-mail address.
    Email,
    /// An IPv6 address (not `::` or `::1`).
    Ipv6,
    /// A payment-card number (Luhn-checked, known issuer prefix).
    CreditCard,
    /// A US Social Security number (valid area, group and serial).
    Ssn,
    /// A telephone number (international `+CC …` or US formats).
    Phone,
    /// An IPv4 address (not a version string, not 127/8, 0.0.0.0 or 255.255.255.255).
    Ipv4,
}

impl PiiKind {
    /// Every kind, in priority order.
    pub const ALL: [PiiKind; 20] = [
        PiiKind::PrivateKey,
        PiiKind::Jwt,
        PiiKind::UrlPassword,
        PiiKind::SlackWebhook,
        PiiKind::AnthropicKey,
        PiiKind::OpenaiKey,
        PiiKind::GithubToken,
        PiiKind::GitlabToken,
        PiiKind::SlackToken,
        PiiKind::StripeKey,
        PiiKind::GoogleApiKey,
        PiiKind::AwsAccessKey,
        PiiKind::AwsSecretKey,
        PiiKind::GenericSecret,
        PiiKind::Email,
        PiiKind::Ipv6,
        PiiKind::CreditCard,
        PiiKind::Ssn,
        PiiKind::Phone,
        PiiKind::Ipv4,
    ];

    /// Whether the kind is a credential (a key, token, private key or password) rather
    /// than personal data: what is redacted by default before text leaves for a model.
    /// A generic high-entropy assignment is left out: it misfires on code.
    pub fn is_credential(self) -> bool {
        matches!(
            self,
            PiiKind::PrivateKey
                | PiiKind::UrlPassword
                | PiiKind::SlackWebhook
                | PiiKind::AnthropicKey
                | PiiKind::OpenaiKey
                | PiiKind::GithubToken
                | PiiKind::GitlabToken
                | PiiKind::SlackToken
                | PiiKind::StripeKey
                | PiiKind::GoogleApiKey
                | PiiKind::AwsAccessKey
                | PiiKind::AwsSecretKey
        )
    }

    /// The name used in markers (`[REDACTED:email]`), JSON and the command line.
    pub fn name(self) -> &'static str {
        match self {
            PiiKind::PrivateKey => "private_key",
            PiiKind::Jwt => "jwt",
            PiiKind::UrlPassword => "url_password",
            PiiKind::SlackWebhook => "slack_webhook",
            PiiKind::AnthropicKey => "anthropic_key",
            PiiKind::OpenaiKey => "openai_key",
            PiiKind::GithubToken => "github_token",
            PiiKind::GitlabToken => "gitlab_token",
            PiiKind::SlackToken => "slack_token",
            PiiKind::StripeKey => "stripe_key",
            PiiKind::GoogleApiKey => "google_api_key",
            PiiKind::AwsAccessKey => "aws_access_key",
            PiiKind::AwsSecretKey => "aws_secret_key",
            PiiKind::GenericSecret => "generic_secret",
            PiiKind::Email => "email",
            PiiKind::Ipv6 => "ipv6",
            PiiKind::CreditCard => "credit_card",
            PiiKind::Ssn => "ssn",
            PiiKind::Phone => "phone",
            PiiKind::Ipv4 => "ipv4",
        }
    }

    /// Whether this kind is a credential (as opposed to personal data).
    pub fn is_secret(self) -> bool {
        !matches!(
            self,
            PiiKind::Email
                | PiiKind::Ipv4
                | PiiKind::Ipv6
                | PiiKind::CreditCard
                | PiiKind::Ssn
                | PiiKind::Phone
        )
    }

    /// The marker that replaces a finding of this kind.
    pub fn marker(self) -> String {
        format!("[REDACTED:{}]", self.name())
    }

    /// The candidate pattern. Candidates are validated in code afterwards (Luhn, SSN
    /// ranges, JWT header, entropy, context), so the patterns can stay simple. Word
    /// boundaries are ASCII (`(?-u:\b)`) so the whole set runs as one lazy DFA even on
    /// non-ASCII text.
    pub(crate) fn pattern(self) -> &'static str {
        match self {
            PiiKind::PrivateKey => {
                r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|(?:\r?\n(?:[A-Za-z\-]+: [^\r\n]*|[A-Za-z0-9+/=]*(?mR:$)))+)"
            }
            PiiKind::Jwt => r"(?-u:\b)eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*",
            PiiKind::UrlPassword => {
                r"://[A-Za-z0-9._~%!$&*+,;=\-]+:[A-Za-z0-9._~%!$&*+,;=:#()\[\]{}|^\\\-]+@[A-Za-z0-9\[][A-Za-z0-9.\-:\]]*"
            }
            PiiKind::SlackWebhook => {
                r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/+\-]{20,}"
            }
            PiiKind::AnthropicKey => r"(?-u:\b)sk-ant-[A-Za-z0-9_\-]{20,}",
            PiiKind::OpenaiKey => r"(?-u:\b)sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{20,}",
            PiiKind::GithubToken => {
                r"(?-u:\b)(?:(?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{50,})(?-u:\b)"
            }
            PiiKind::GitlabToken => {
                r"(?-u:\b)gl(?:pat|ptt|dt|rt|soat|cbt|ffct|imt|oas)-[A-Za-z0-9_\-]{20,}"
            }
            PiiKind::SlackToken => {
                r"(?-u:\b)(?:xox[baprs]-[0-9A-Za-z\-]{10,}|xapp-[0-9]-[A-Z0-9]+-[0-9]+-[a-z0-9]{20,})"
            }
            PiiKind::StripeKey => r"(?-u:\b)(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}(?-u:\b)",
            PiiKind::GoogleApiKey => r"(?-u:\b)AIza[0-9A-Za-z_\-]{35}",
            PiiKind::AwsAccessKey => {
                r"(?-u:\b)(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?-u:\b)"
            }
            PiiKind::AwsSecretKey => {
                r#"(?i)(?-u:\b)(?:aws_?)?secret_?(?:access_?)?key["']?\s*(?::=|=>|=|:)\s*["']?[A-Za-z0-9/+]{40}"#
            }
            PiiKind::GenericSecret => concat!(
                // name = value, name: value, "name": "value", name := value, name => value
                r#"(?i)[A-Za-z0-9_.\-]*(?:api[_.\-]?key|apikey|secret|token|passw(?:or)?d|pwd|passphrase|auth[_.\-]?key|credentials?|private[_.\-]?key|access[_.\-]?key|signing[_.\-]?key|encryption[_.\-]?key)[A-Za-z0-9_.\-]*["']?\s*(?::=|=>|=|:)\s*(?:"[ !#-~]{6,}"|'[ -&(-~]{6,}'|[!#-&(*+\x2D-:<-\x5C\x5E-|~]{6,})"#,
                // key="NAME" value="VALUE" (.NET appSettings), name: NAME, value: VALUE (k8s env)
                r#"|(?i)(?:key|name)["']?\s*[=:]\s*["']?[A-Za-z0-9_.\-]*(?:api[_.\-]?key|apikey|secret|token|passw(?:or)?d|pwd|credentials?)["']?\s*,?\s*["']?value["']?\s*[=:]\s*(?:"[ !#-~]{6,}"|'[ -&(-~]{6,}')"#
            ),
            PiiKind::Email => {
                r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?-u:\b)"
            }
            PiiKind::Ipv6 => {
                r"(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f]{1,4})?(?:%[0-9A-Za-z]+)?"
            }
            PiiKind::CreditCard => r"(?-u:\b)[0-9](?:[ \-]?[0-9]){12,18}(?-u:\b)",
            PiiKind::Ssn => {
                r"(?-u:\b)(?:[0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{3} [0-9]{2} [0-9]{4}|[0-9]{9})(?-u:\b)"
            }
            PiiKind::Phone => {
                r"(?:\+[0-9]{1,3}[ .\-]?(?:\([0-9]{1,4}\)[ .\-]?)?[0-9]{1,4}(?:[ .\-]?[0-9]{2,4}){1,4}|(?:\+?1[ .\-]?)?(?:\([0-9]{3}\)[ .\-]?|[0-9]{3}[ .\-])[0-9]{3}[ .\-][0-9]{4})(?-u:\b)"
            }
            PiiKind::Ipv4 => {
                r"(?-u:\b)(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}(?-u:\b)"
            }
        }
    }
}

impl fmt::Display for PiiKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for PiiKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// The error of parsing an unknown kind name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown PII kind `{0}`")]
pub struct UnknownKind(pub String);

impl FromStr for PiiKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PiiKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_order_is_priority() {
        for (i, k) in PiiKind::ALL.into_iter().enumerate() {
            assert_eq!(k as usize, i);
            assert_eq!(k.name().parse::<PiiKind>(), Ok(k));
        }
        assert!(PiiKind::PrivateKey < PiiKind::Email);
        assert_eq!(PiiKind::Email.marker(), "[REDACTED:email]");
        assert!("nope".parse::<PiiKind>().is_err());
    }
}
