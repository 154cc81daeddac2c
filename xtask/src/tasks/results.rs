//! Reading test counts out of test runners' output.

/// Tests counted in one runner's output.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
}

impl Counts {
    pub fn total(self) -> u64 {
        self.passed + self.failed + self.ignored
    }
}

/// Sum every libtest summary line, e.g.
/// `test result: FAILED. 3 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s`.
pub fn cargo_test(output: &str) -> Counts {
    let mut counts = Counts::default();
    for line in output.lines().map(strip_ansi) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            continue;
        };
        // Skip the "ok." / "FAILED." verdict; the counts follow, separated by ';'.
        let Some((_verdict, fields)) = rest.split_once(". ") else {
            continue;
        };
        for field in fields.split(';') {
            let mut words = field.split_whitespace();
            let (Some(number), Some(label)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(number) = number.parse::<u64>() else {
                continue;
            };
            match label {
                "passed" => counts.passed += number,
                "failed" => counts.failed += number,
                "ignored" => counts.ignored += number,
                _ => {}
            }
        }
    }
    counts
}

/// Read vitest's summary line, e.g. ` Tests  1 failed | 12 passed | 2 skipped (15)`.
/// Skipped and todo tests count as ignored. `None` when there is no such line.
pub fn vitest(output: &str) -> Option<Counts> {
    let line = output.lines().rev().map(strip_ansi).find(|line| line.trim_start().starts_with("Tests "))?;
    let mut counts = Counts::default();
    let summary = line.trim().trim_start_matches("Tests").trim();
    // Drop the "(15)" total at the end.
    let summary = summary.split_once('(').map_or(summary, |(head, _)| head);
    for part in summary.split('|') {
        let mut words = part.split_whitespace();
        let (Some(number), Some(label)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(number) = number.parse::<u64>() else {
            continue;
        };
        match label {
            "passed" => counts.passed += number,
            "failed" => counts.failed += number,
            "skipped" | "todo" => counts.ignored += number,
            _ => {}
        }
    }
    Some(counts)
}

/// Remove ANSI escape sequences (colors, cursor moves) from a line.
pub fn strip_ansi(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            plain.push(c);
            continue;
        }
        // CSI: ESC [ parameters... final byte in '@'..='~'. Other escapes: ESC plus one character.
        if chars.next_if_eq(&'[').is_some() {
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            chars.next();
        }
    }
    plain
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARGO_TEST: &str = "\
running 3 tests
test a ... ok
test b ... FAILED
test c ... ok

failures:
    b

test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s

running 5 tests
test result: ok. 4 passed; 0 failed; 1 ignored; 0 measured; 2 filtered out; finished in 1.20s

   Doc-tests switchboard_gateway
test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
";

    #[test]
    fn sums_every_cargo_test_result_line() {
        assert_eq!(cargo_test(CARGO_TEST), Counts { passed: 6, failed: 1, ignored: 1 });
    }

    #[test]
    fn no_cargo_test_lines_means_no_tests() {
        let output = "error[E0425]: cannot find value `x`\nerror: could not compile `e2e`\n";
        assert_eq!(cargo_test(output).total(), 0);
    }

    #[test]
    fn reads_vitest_summary() {
        let passing = " Test Files  4 passed (4)\n      Tests  23 passed (23)\n   Start at  10:00:00\n";
        assert_eq!(vitest(passing), Some(Counts { passed: 23, failed: 0, ignored: 0 }));

        let failing = "\u{1b}[2m Test Files \u{1b}[22m \u{1b}[1m\u{1b}[31m1 failed\u{1b}[39m\u{1b}[22m\u{1b}[2m | \
                       \u{1b}[22m\u{1b}[1m\u{1b}[32m3 passed\u{1b}[39m\u{1b}[22m\u{1b}[90m (4)\u{1b}[39m\n\
                       \u{1b}[2m      Tests \u{1b}[22m \u{1b}[1m\u{1b}[31m2 failed\u{1b}[39m\u{1b}[22m\u{1b}[2m | \
                       \u{1b}[22m\u{1b}[1m\u{1b}[32m20 passed\u{1b}[39m\u{1b}[22m\u{1b}[2m | \u{1b}[22m\
                       \u{1b}[33m1 skipped\u{1b}[39m\u{1b}[90m (23)\u{1b}[39m\n";
        assert_eq!(vitest(failing), Some(Counts { passed: 20, failed: 2, ignored: 1 }));

        assert_eq!(vitest("No test files found, exiting with code 1\n"), None);
    }

    #[test]
    fn strips_ansi() {
        assert_eq!(strip_ansi("\u{1b}[1m\u{1b}[32mok\u{1b}[39m\u{1b}[22m done"), "ok done");
    }
}
