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

/// The word being typed at the end of a line, for completion.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Partial {
    /// The complete words before it.
    pub(crate) before: Vec<String>,
    /// Where it starts in the line (its opening quote, if any).
    pub(crate) start: usize,
    /// What it says so far, quotes and escapes removed.
    pub(crate) value: String,
    /// The quote still open in it.
    pub(crate) quote: Option<char>,
}

/// Read `line` as [`split`] does, up to its end, which is where the
/// cursor is: the words before, and the one being typed (empty after a
/// space).
pub(crate) fn partial(line: &str) -> Partial {
    let mut p = Partial { before: Vec::new(), start: line.len(), value: String::new(), quote: None };
    let mut in_word = false;
    let mut chars = line.char_indices();
    while let Some((i, c)) = chars.next() {
        let separates = p.quote.is_none() && c.is_whitespace();
        if !in_word && !separates {
            in_word = true;
            p.start = i;
        }
        match (p.quote, c) {
            (Some(q), c) if c == q => p.quote = None,
            (_, '\\') => {
                if let Some((_, n)) = chars.next() {
                    p.value.push(n);
                }
            }
            (Some(_), c) => p.value.push(c),
            (None, '"' | '\'') => p.quote = Some(c),
            (None, c) if c.is_whitespace() => {
                if in_word {
                    p.before.push(std::mem::take(&mut p.value));
                    in_word = false;
                    p.start = line.len();
                }
            }
            (None, c) => p.value.push(c),
        }
    }
    p
}

/// `value` written so that [`split`] reads it back as one word, for
/// completion: inside the quote the user opened (closed unless `open`,
/// so that a folder's name can go on), else with backslashes before
/// spaces, quotes and backslashes, as shells complete.
pub(crate) fn escape(value: &str, quote: Option<char>, open: bool) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    match quote {
        Some(q) => {
            out.push(q);
            for c in value.chars() {
                if c == q || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            if !open {
                out.push(q);
            }
        }
        None => {
            for c in value.chars() {
                if c.is_whitespace() || matches!(c, '"' | '\'' | '\\') {
                    out.push('\\');
                }
                out.push(c);
            }
        }
    }
    out
}

/// `word` as [`split`] reads it back as one word: bare when it can be,
/// else in double quotes with `"` and `\` escaped.
pub(crate) fn quote(word: &str) -> String {
    let plain = !word.is_empty() && !word.chars().any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\'));
    if plain {
        return word.to_owned();
    }
    let mut out = String::with_capacity(word.len() + 2);
    out.push('"');
    for c in word.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
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
    fn quoting_round_trips() {
        for w in ["plain", "spaces in name", "it's", "a\"b", "back\\slash", "", "tab\there"] {
            let q = quote(w);
            assert_eq!(split(&format!("get {q}")).unwrap(), ["get", w], "{q}");
        }
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("spaces in name"), "\"spaces in name\"");
    }

    #[test]
    fn the_word_being_typed() {
        let p = partial("cd spa");
        assert_eq!((p.before, p.start, p.value, p.quote), (vec!["cd".to_owned()], 3, "spa".to_owned(), None));
        let p = partial("get \"my fi");
        assert_eq!((p.start, p.value.as_str(), p.quote), (4, "my fi", Some('"')));
        let p = partial("get my\\ fi");
        assert_eq!((p.start, p.value.as_str(), p.before.len()), (4, "my fi", 1));
        let p = partial("get a ");
        assert_eq!((p.start, p.value.as_str(), p.before.len()), (6, "", 2));
        let p = partial("");
        assert_eq!((p.start, p.before.len()), (0, 0));
    }

    #[test]
    fn completions_read_back_as_one_word() {
        for (v, q, open) in [("spaces in name/", None, false), ("it's here", Some('"'), false), ("a\"b/", Some('\''), true)] {
            let e = escape(v, q, open);
            let line = if open { format!("cd {e}{}", q.unwrap()) } else { format!("cd {e}") };
            assert_eq!(split(&line).unwrap(), ["cd", v], "{e}");
        }
        assert_eq!(escape("spaces in name/", None, true), "spaces\\ in\\ name/");
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
