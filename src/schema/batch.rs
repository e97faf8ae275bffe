//! The NDJSON batch (`POST /v1/reports:batch`): one `fleetscope.report/1` document per
//! line; blank lines (and a missing final newline) are allowed. Lines are numbered from
//! 1 so a refusal can say which one was wrong.

/// The non-blank lines of a batch body with their 1-based line numbers.
pub fn batch_lines(body: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    body.split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
        .map(|(n, line)| (n + 1, line))
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_are_numbered_from_one_and_blank_ones_skipped() {
        let body = b"{\"a\":1}\n\n  \n{\"b\":2}\r\n{\"c\":3}";
        let lines: Vec<(usize, &[u8])> = super::batch_lines(body).collect();
        assert_eq!(
            lines,
            vec![
                (1, &b"{\"a\":1}"[..]),
                (4, &b"{\"b\":2}\r"[..]),
                (5, &b"{\"c\":3}"[..])
            ]
        );
        assert_eq!(super::batch_lines(b"\n \n").count(), 0);
    }
}
