//! Shell-style wildcards for `NLST *.txt` and `LIST *.c`: `*`, `?` and
//! `[...]` classes (with `!` or `^` negation and `a-z` ranges), matched
//! against one file name.
//!
//! A listing compiles its pattern once into a [`Pattern`] of tokens (an
//! unterminated `[` is a literal, runs of `*` are one `*`), then matches
//! every name with the iterative algorithm that keeps one backtrack point:
//! no recursion, and each step does a bounded amount of work, so matching a
//! name of `n` characters costs at most about `n × tokens` steps. Two limits
//! keep a hostile pattern cheap (the bug class of vsftpd's CVE-2011-0762):
//! patterns longer than [`MAX_PATTERN`] characters match nothing (as
//! Pure-FTPd's glob does past `PATH_MAX`), and [`Pattern::matches_within`]
//! charges each step to a budget the caller gives per listing.

/// Longest pattern, in characters, that can match anything. A file name is
/// at most 255 bytes on common file systems, so a longer pattern is either
/// a mistake or an attack.
pub const MAX_PATTERN: usize = 256;

/// True if `pattern` contains a wildcard character.
pub fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// Match `name` against `pattern` (compiling it; to match many names,
/// compile once with [`Pattern::new`]).
pub fn matches(pattern: &str, name: &str) -> bool {
    Pattern::new(pattern).matches(name)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `?`: any one character.
    One,
    /// `*`: any run of characters.
    Any,
    /// `[...]`: `items[start..start + len]`, negated with `!` or `^`.
    Class {
        negate: bool,
        start: u32,
        len: u32,
    },
}

/// A compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    tokens: Vec<Token>,
    /// Inclusive character ranges of all classes (a single character is
    /// the range `c..=c`).
    items: Vec<(char, char)>,
    /// The pattern was longer than [`MAX_PATTERN`]: it matches nothing.
    too_long: bool,
}

impl Pattern {
    /// Compile `pattern`, in one pass over it.
    pub fn new(pattern: &str) -> Pattern {
        let p: Vec<char> = pattern.chars().collect();
        if p.len() > MAX_PATTERN {
            return Pattern { tokens: Vec::new(), items: Vec::new(), too_long: true };
        }
        // A `[` opens a class only if a `]` follows its first member (a `]`
        // right after `[` or `[!` is a member, and no range can swallow a
        // later `]`), so the last `]` decides for every `[` at once.
        let last_close = p.iter().rposition(|&c| c == ']');
        let mut tokens = Vec::with_capacity(p.len());
        let mut items = Vec::new();
        let mut i = 0;
        while i < p.len() {
            match p[i] {
                '*' => {
                    if tokens.last() != Some(&Token::Any) {
                        tokens.push(Token::Any);
                    }
                    i += 1;
                }
                '?' => {
                    tokens.push(Token::One);
                    i += 1;
                }
                '[' => {
                    let negate = matches!(p.get(i + 1), Some('!' | '^'));
                    let first = i + 1 + usize::from(negate);
                    if last_close.is_none_or(|close| close <= first) {
                        tokens.push(Token::Char('['));
                        i += 1;
                        continue;
                    }
                    let start = items.len();
                    let mut j = first;
                    loop {
                        if p[j] == ']' && j != first {
                            break;
                        }
                        if j + 2 < p.len() && p[j + 1] == '-' && p[j + 2] != ']' {
                            items.push((p[j], p[j + 2]));
                            j += 3;
                        } else {
                            items.push((p[j], p[j]));
                            j += 1;
                        }
                    }
                    // Both fit: the pattern is at most MAX_PATTERN long.
                    tokens.push(Token::Class { negate, start: start as u32, len: (items.len() - start) as u32 });
                    i = j + 1;
                }
                c => {
                    tokens.push(Token::Char(c));
                    i += 1;
                }
            }
        }
        Pattern { tokens, items, too_long: false }
    }

    /// True when the pattern can match nothing at all (it was too long).
    pub fn matches_nothing(&self) -> bool {
        self.too_long
    }

    /// Match `name`, without a budget (a single pattern and name are
    /// bounded by their lengths).
    pub fn matches(&self, name: &str) -> bool {
        let mut budget = u64::MAX;
        self.matches_within(name, &mut budget).unwrap_or(false)
    }

    /// Match `name`, charging each step to `budget`. `None` when the
    /// budget ran out first (the caller should stop: the pattern is being
    /// used to burn CPU).
    pub fn matches_within(&self, name: &str, budget: &mut u64) -> Option<bool> {
        if self.too_long {
            return Some(false);
        }
        let t = &self.tokens;
        // Byte offsets into `name`; `star` is the last `*` seen and where
        // in the name its match currently ends.
        let (mut ti, mut ni) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while let Some(c) = name[ni..].chars().next() {
            let cost = match t.get(ti) {
                Some(Token::Class { len, .. }) => 1 + u64::from(*len),
                _ => 1,
            };
            *budget = budget.checked_sub(cost)?;
            let step = match t.get(ti) {
                Some(Token::Any) => {
                    star = Some((ti, ni));
                    ti += 1;
                    continue;
                }
                Some(Token::One) => true,
                Some(&Token::Char(x)) => x == c,
                Some(&Token::Class { negate, start, len }) => {
                    let members = &self.items[start as usize..(start + len) as usize];
                    members.iter().any(|&(lo, hi)| lo <= c && c <= hi) != negate
                }
                None => false,
            };
            if step {
                ti += 1;
                ni += c.len_utf8();
                continue;
            }
            // Let the last `*` swallow one more character and retry.
            let Some((st, sn)) = star else { return Some(false) };
            let skipped = name[sn..].chars().next().map_or(1, char::len_utf8);
            star = Some((st, sn + skipped));
            ti = st + 1;
            ni = sn + skipped;
        }
        // Runs of `*` were collapsed: at most one remains.
        Some(t[ti..].iter().all(|tok| *tok == Token::Any))
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_PATTERN, Pattern, matches};

    #[test]
    fn basics() {
        assert!(matches("*.txt", "a.txt"));
        assert!(!matches("*.txt", "a.txt.gz"));
        assert!(matches("a?c", "abc"));
        assert!(matches("[a-c]x", "bx"));
        assert!(!matches("[!a-c]x", "bx"));
        assert!(matches("[^a-c]x", "dx"));
        assert!(matches("*", ""));
        assert!(!matches("?", ""));
        assert!(matches("**a*b*", "xxaxxb"));
        assert!(matches("[]]", "]"));
        assert!(matches("[!]]", "x"));
        assert!(matches("[]-a]", "^"), "a range may start with the leading ]");
        assert!(matches("[a-]", "-"), "a - before ] is a member");
        assert!(matches("[x", "[x"));
        assert!(matches("[]", "[]") && !matches("[]", ""), "no member after the leading ]: literal");
        assert!(matches("[!x", "[!x"), "unterminated: every character literal");
        assert!(matches("x[", "x["));
        assert!(matches("[[]", "["));
        assert!(matches("[ab][", "b["));
        assert!(matches("f?ö*[ä-ü]", "fxöyyü"), "characters, not bytes");
        assert!(!matches("*[ä-ü]", "fxöyyz"));
    }

    /// The matcher before tokens (re-parsing each class at every step):
    /// slow on hostile patterns, but the meaning to keep.
    fn reference(pattern: &str, name: &str) -> bool {
        fn class(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
            let mut i = start + 1;
            let negate = matches!(p.get(i), Some('!' | '^'));
            if negate {
                i += 1;
            }
            let (mut matched, mut first) = (false, true);
            while i < p.len() {
                if p[i] == ']' && !first {
                    return Some((matched != negate, i + 1));
                }
                first = false;
                if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
                    matched |= p[i] <= c && c <= p[i + 2];
                    i += 3;
                } else {
                    matched |= p[i] == c;
                    i += 1;
                }
            }
            None
        }
        let p: Vec<char> = pattern.chars().collect();
        let n: Vec<char> = name.chars().collect();
        let (mut pi, mut ni) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while ni < n.len() {
            if pi < p.len() {
                match p[pi] {
                    '*' => {
                        star = Some((pi, ni));
                        pi += 1;
                        continue;
                    }
                    '?' => {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                    '[' => match class(&p, pi, n[ni]) {
                        Some((true, next)) => {
                            pi = next;
                            ni += 1;
                            continue;
                        }
                        None if n[ni] == '[' => {
                            pi += 1;
                            ni += 1;
                            continue;
                        }
                        _ => {}
                    },
                    c if c == n[ni] => {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                    _ => {}
                }
            }
            match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            }
        }
        p[pi..].iter().all(|&c| c == '*')
    }

    fn text(alphabet: &'static [char], max: usize) -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::strategy::Strategy;
        proptest::collection::vec(proptest::sample::select(alphabet), 0..max).prop_map(|v| v.into_iter().collect())
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(2000))]
        #[test]
        fn same_answers_as_the_reference(
            pattern in text(&['a', 'b', '*', '?', '!', '^', '[', ']', '-'], 12),
            name in text(&['a', 'b', '!', '^', '[', ']', '-'], 10),
        ) {
            proptest::prop_assert_eq!(matches(&pattern, &name), reference(&pattern, &name), "{:?} {:?}", pattern, name);
        }
    }

    #[test]
    fn no_blowup() {
        let name = "a".repeat(200);
        assert!(!matches("*a*a*a*a*a*a*a*a*b", &name));
    }

    #[test]
    fn many_unterminated_classes_compile_to_literals_in_one_pass() {
        let p = Pattern::new(&format!("*{}", "[".repeat(MAX_PATTERN - 1)));
        assert!(!p.matches_nothing());
        assert!(p.matches(&format!("x{}", "[".repeat(MAX_PATTERN - 1))));
        let mut budget = 1_000;
        assert_eq!(p.matches_within("quarterly-report-00001-final-version.pdf", &mut budget), Some(false));
        assert!(budget > 900, "a cheap miss: {budget} left");
    }

    #[test]
    fn too_long_matches_nothing() {
        let p = Pattern::new(&format!("*{}", "[".repeat(4000)));
        assert!(p.matches_nothing());
        assert!(!p.matches("anything"));
        assert!(Pattern::new(&"?".repeat(MAX_PATTERN)).matches(&"x".repeat(MAX_PATTERN)));
    }

    #[test]
    fn budget_runs_out_on_quadratic_patterns() {
        // `*aaa…ab` against `aaa…a`: every position of the name is retried
        // against the whole pattern.
        let p = Pattern::new(&format!("*{}b", "a".repeat(200)));
        let name = "a".repeat(250);
        let mut big = u64::MAX;
        assert_eq!(p.matches_within(&name, &mut big), Some(false));
        let spent = u64::MAX - big;
        assert!(spent > 10_000 && spent < 60_000, "{spent} steps");
        let mut small = 5_000;
        assert_eq!(p.matches_within(&name, &mut small), None);
        let mut plenty = 1_000;
        assert_eq!(Pattern::new("a*").matches_within("ba", &mut plenty), Some(false), "a miss is not an exhausted budget");
    }

    #[test]
    fn steps_are_linear_in_the_name_for_ordinary_patterns() {
        let p = Pattern::new("*.txt");
        let name = format!("{}.txt", "x".repeat(10_000));
        let mut budget = u64::MAX;
        assert_eq!(p.matches_within(&name, &mut budget), Some(true));
        assert!(u64::MAX - budget < 3 * 10_010, "{} steps", u64::MAX - budget);
    }
}
