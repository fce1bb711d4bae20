//! Splitting a shell line into words, and matching abbreviated commands.

/// Split a command line into words: whitespace separates, `"…"` and `'…'`
/// quote, a backslash escapes the next character.
pub(crate) fn split(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), '\\') | (None, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                    in_word = true;
                }
            }
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("unterminated quote".into());
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Resolve `word` to a command name: an exact name or alias, or a prefix
/// of exactly one name (as ftp(1) allows).
pub(crate) fn resolve<'a>(word: &str, names: &'a [&'a str]) -> Result<&'a str, String> {
    let w = word.to_ascii_lowercase();
    if let Some(n) = names.iter().find(|n| **n == w) {
        return Ok(n);
    }
    let matches: Vec<&&str> = names.iter().filter(|n| n.starts_with(&w)).collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(format!("?Invalid command: {word}. Type help for the list.")),
        many => Err(format!("?Ambiguous command: {word} could be {}.", many.iter().map(|s| **s).collect::<Vec<_>>().join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting() {
        assert_eq!(split(r#"get "my file.txt" 'b c' d\ e"#).unwrap(), ["get", "my file.txt", "b c", "d e"]);
        assert_eq!(split("  ls   ").unwrap(), ["ls"]);
        assert_eq!(split(r#"put """#).unwrap(), ["put", ""]);
        assert!(split("get \"x").is_err());
    }

    #[test]
    fn abbreviations() {
        let names = ["get", "put", "pwd", "mget", "mkdir", "modtime"];
        assert_eq!(resolve("get", &names), Ok("get"));
        assert_eq!(resolve("mk", &names), Ok("mkdir"));
        assert_eq!(resolve("GE", &names), Ok("get"));
        assert!(resolve("p", &names).unwrap_err().contains("Ambiguous"));
        assert!(resolve("zz", &names).unwrap_err().contains("Invalid"));
    }
}
