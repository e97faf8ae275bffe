//! Connection URLs fit for logs and state files.

/// `url` with the password, if any, replaced by `***`
/// (`postgres://fleet:s3cret@db/f` -> `postgres://fleet:***@db/f`).
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{}", &rest[authority_end..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_password_is_masked_and_nothing_else_changes() {
        use super::redact_url;
        assert_eq!(
            redact_url("postgres://fleet:s3cr3t@db:5432/f?sslmode=require"),
            "postgres://fleet:***@db:5432/f?sslmode=require"
        );
        assert_eq!(redact_url("postgres://fleet@db/f"), "postgres://fleet@db/f");
        assert_eq!(
            redact_url("postgres://u:p@ss@db/f"),
            "postgres://u:***@db/f"
        );
        assert_eq!(redact_url("sqlite://fleet.db"), "sqlite://fleet.db");
        assert_eq!(
            redact_url("sqlite:///a@b/fleet.db"),
            "sqlite:///a@b/fleet.db"
        );
    }
}
