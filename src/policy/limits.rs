//! Limits on what one policy's CEL may cost, so a custom policy cannot take down the run.
//!
//! - At compile time, before the parser sees it: an expression's size in bytes and how deep
//!   it may nest. cel's parser and interpreter recurse once per level, so nesting is what
//!   decides the stack a policy needs; [`nesting`] is a cheap upper bound read from the text.
//! - At evaluation: a budget of cost units per control (cel's vendored `cost` module: one unit
//!   per expression step, per element copied or built and per 8 bytes of text built), so a
//!   runaway `exists`, a doubling string or a growing map ends as that control's `error`,
//!   the same on every machine.
//! - Threads that compile and evaluate get a stack sized for the nesting admitted
//!   ([`stack_size`]).
//!
//! The limits are process-wide: the command line sets them once ([`LimitArgs::apply`]) before
//! any policy is loaded.

use ::cel::cost::ELEMENT;
use ::cel::parser::Expression;
use std::sync::atomic::{AtomicU64, Ordering};

/// Default for `--max-expression-bytes`: 8 times the largest shipped expression.
pub const MAX_EXPRESSION_BYTES: u64 = 16 << 10;
/// Default for `--max-expression-depth` (see [`nesting`], an upper bound): three times what the
/// deepest shipped expression needs (41).
pub const MAX_EXPRESSION_DEPTH: u64 = 128;
/// The highest `--max-expression-depth` accepted: the stack it needs stays a reservation of
/// address space a few hundred MiB at most.
pub const DEPTH_CEILING: u64 = 1_000;
/// Default for `--eval-cost-limit`: a few seconds of work and ~400 MB at most; 2.4 times what
/// the costliest shipped control spends on the largest tenant supported (XDR-CON-03 over
/// 200,000 alert rules: ~21 million).
pub const EVAL_COST_LIMIT: u64 = 50_000_000;

static EXPRESSION_BYTES: AtomicU64 = AtomicU64::new(MAX_EXPRESSION_BYTES);
static EXPRESSION_DEPTH: AtomicU64 = AtomicU64::new(MAX_EXPRESSION_DEPTH);
static EVAL_COST: AtomicU64 = AtomicU64::new(EVAL_COST_LIMIT);

/// The limits in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub expression_bytes: u64,
    pub expression_depth: u64,
    pub eval_cost: u64,
}

/// The limits in force (the defaults unless the command line changed them).
pub fn get() -> Limits {
    Limits {
        expression_bytes: EXPRESSION_BYTES.load(Ordering::Relaxed),
        expression_depth: EXPRESSION_DEPTH.load(Ordering::Relaxed),
        eval_cost: EVAL_COST.load(Ordering::Relaxed),
    }
}

/// Put `limits` in force for every policy loaded and evaluated from now on.
pub fn set(limits: Limits) {
    EXPRESSION_BYTES.store(limits.expression_bytes, Ordering::Relaxed);
    EXPRESSION_DEPTH.store(
        limits.expression_depth.min(DEPTH_CEILING),
        Ordering::Relaxed,
    );
    EVAL_COST.store(limits.eval_cost, Ordering::Relaxed);
}

/// The policy limit flags of `check`, `audit`, `lint` and `test`.
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    /// Longest CEL expression a policy may hold, in bytes
    #[arg(long, value_name = "BYTES", default_value_t = MAX_EXPRESSION_BYTES)]
    pub max_expression_bytes: u64,
    /// Deepest nesting of a CEL expression (brackets, operators and `.` chains), at most 1000
    #[arg(long, value_name = "LEVELS", default_value_t = MAX_EXPRESSION_DEPTH,
          value_parser = clap::value_parser!(u64).range(1..=DEPTH_CEILING))]
    pub max_expression_depth: u64,
    /// Work one control's expressions may do, in cost units (one per step, per element
    /// copied or built, per 8 bytes of text built); more makes the control `error`
    #[arg(long, value_name = "UNITS", default_value_t = EVAL_COST_LIMIT)]
    pub eval_cost_limit: u64,
}

impl LimitArgs {
    /// Put these limits in force (before loading any policy).
    pub fn apply(&self) {
        set(Limits {
            expression_bytes: self.max_expression_bytes,
            expression_depth: self.max_expression_depth,
            eval_cost: self.eval_cost_limit,
        });
    }
}

/// Why an expression is refused before it is parsed: the limit it breaks, with its flag.
pub fn check_expression(src: &str) -> Result<(), String> {
    let limits = get();
    if src.len() as u64 > limits.expression_bytes {
        return Err(format!(
            "the expression is {} bytes, over the limit of {} (--max-expression-bytes)",
            src.len(),
            limits.expression_bytes
        ));
    }
    let depth = nesting(src);
    if depth as u64 > limits.expression_depth {
        return Err(format!(
            "the expression nests {depth} levels deep, over the limit of {} (--max-expression-depth; brackets, operators and `.` chains each add a level)",
            limits.expression_depth
        ));
    }
    Ok(())
}

/// Why a compiled expression is refused: what it costs at least, on any facts, is over the
/// evaluation cost limit (see [`min_cost`]), so it could only ever end as `error`.
pub fn check_cost(program: &::cel::Program) -> Result<(), String> {
    let limit = get().eval_cost;
    let cost = min_cost(program.expression());
    if cost > limit {
        return Err(format!(
            "the expression costs at least {cost} units on any facts, over the evaluation cost limit of {limit} (--eval-cost-limit): loops over literal lists multiply"
        ));
    }
    Ok(())
}

/// A lower bound on what evaluating `e` costs in the interpreter's units (`cel::cost`),
/// whatever the facts: one per node evaluated and [`ELEMENT`] per element of a list or map
/// literal; a comprehension runs its body once per element of a range whose length is known
/// from the text (a list literal, or a `map` over one), all of them unless it may stop
/// early (`exists`, `all`: then once); of a `?:`, `&&` or `||` only what must run counts.
/// Facts lists count as empty, so a policy is refused only when it can never fit.
pub fn min_cost(e: &Expression) -> u64 {
    use ::cel::common::ast::{EntryExpr, Expr};
    let sum = |es: &mut dyn Iterator<Item = &Expression>| {
        es.fold(0u64, |acc, e| acc.saturating_add(min_cost(e)))
    };
    let own = match &e.expr {
        Expr::Call(call) => match (call.func_name.as_str(), call.args.as_slice()) {
            ("_?_:_", [c, a, b]) => min_cost(c).saturating_add(min_cost(a).min(min_cost(b))),
            ("_&&_" | "_||_", [l, _]) => min_cost(l),
            _ => sum(&mut call.target.as_deref().into_iter().chain(&call.args)),
        },
        Expr::Select(select) => min_cost(&select.operand),
        Expr::List(list) => {
            (ELEMENT * list.elements.len() as u64).saturating_add(sum(&mut list.elements.iter()))
        }
        Expr::Map(map) => (ELEMENT * map.entries.len() as u64).saturating_add(sum(&mut map
            .entries
            .iter()
            .flat_map(|entry| match &entry.expr {
                EntryExpr::MapEntry(m) => vec![&m.key, &m.value],
                EntryExpr::StructField(f) => vec![&f.value],
            }))),
        Expr::Comprehension(c) => {
            let n = static_len(&c.iter_range);
            let runs = if matches!(c.loop_cond.expr, Expr::Literal(_)) {
                n
            } else {
                n.min(1)
            };
            let body = min_cost(&c.loop_cond).saturating_add(min_cost(&c.loop_step));
            sum(&mut [&c.iter_range, &c.accu_init, &c.result].into_iter())
                .saturating_add(runs.saturating_mul(body))
        }
        _ => 0,
    };
    own.saturating_add(1)
}

/// The length of the list `e` evaluates to, when the text alone says (else 0): a list literal,
/// or a `map` over one.
fn static_len(e: &Expression) -> u64 {
    use ::cel::common::ast::Expr;
    match &e.expr {
        Expr::List(list) if list.optional_indices.is_empty() => list.elements.len() as u64,
        Expr::Comprehension(c)
            if matches!(c.loop_cond.expr, Expr::Literal(_))
                && matches!(&c.loop_step.expr, Expr::Call(call) if call.func_name == "_+_") =>
        {
            static_len(&c.iter_range)
        }
        _ => 0,
    }
}

/// Stack for a thread that compiles or evaluates policies: enough for the nesting admitted.
/// cel's ANTLR parser takes up to ~170 KiB per level in a debug build (~5 KiB optimised), the
/// interpreter less; only the pages touched are ever committed.
pub fn stack_size() -> usize {
    const BASE: usize = 4 << 20;
    let per_level: usize = if cfg!(debug_assertions) {
        256 << 10
    } else {
        32 << 10
    };
    BASE + per_level * get().expression_depth as usize
}

/// An upper bound on the depth of the syntax tree of `src`, read from the text alone (no
/// recursion, linear time): a bracketed group adds one level; inside a group, each
/// comma-separated part adds the operators it holds (`.`, arithmetic, comparison, logic, `!`,
/// `?`, `:`, `in`) to its deepest inner group, since an operator chain is a chain of nodes.
/// String literals are skipped; an unterminated one is read as code, which only counts more.
pub fn nesting(src: &str) -> usize {
    let b = src.as_bytes();
    let mut stack = vec![Group::default()];
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\'' | b'"' => {
                i = skip_string(b, i);
                continue;
            }
            b'(' | b'[' | b'{' => stack.push(Group::default()),
            b')' | b']' | b'}' if stack.len() > 1 => close(&mut stack),
            b',' => {
                let top = stack.last_mut().expect("root group");
                top.done = top.done.max(top.part());
                top.ops = 0;
                top.inner = 0;
            }
            b'.' | b'+' | b'-' | b'*' | b'/' | b'%' | b'<' | b'>' | b'=' | b'!' | b'&' | b'|'
            | b'?' | b':' => {
                // A two-character operator (`&&`, `==`, `<=`, …) is one node.
                let pair = matches!(b.get(i + 1), Some(b'=' | b'&' | b'|'))
                    && matches!(c, b'<' | b'>' | b'=' | b'!' | b'&' | b'|');
                stack.last_mut().expect("root group").ops += 1;
                i += if pair { 2 } else { 1 };
                continue;
            }
            b'i' if b.get(i + 1) == Some(&b'n')
                && !b
                    .get(i + 2)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                stack.last_mut().expect("root group").ops += 1;
            }
            _ => {}
        }
        i += 1;
    }
    while stack.len() > 1 {
        close(&mut stack);
    }
    let root = &stack[0];
    root.done.max(root.part()) + 1
}

/// Close the innermost group: its depth is one more than its deepest part.
fn close(stack: &mut Vec<Group>) {
    let g = stack.pop().expect("an open group");
    let depth = g.done.max(g.part()) + 1;
    let top = stack.last_mut().expect("root group");
    top.inner = top.inner.max(depth);
}

/// One open group of [`nesting`]: the deepest part finished so far, and the current part's
/// operators and deepest inner group.
#[derive(Default)]
struct Group {
    done: usize,
    ops: usize,
    inner: usize,
}

impl Group {
    fn part(&self) -> usize {
        self.ops + self.inner
    }
}

/// The index after the string literal opening at `start` (`'…'`, `"…"`, triple-quoted, raw
/// with a preceding `r`/`R`); an unterminated literal ends right after its opening quote.
fn skip_string(b: &[u8], start: usize) -> usize {
    let q = b[start];
    let raw = start > 0 && matches!(b[start - 1], b'r' | b'R');
    let triple = b.get(start + 1) == Some(&q) && b.get(start + 2) == Some(&q);
    let mut i = start + if triple { 3 } else { 1 };
    while i < b.len() {
        match b[i] {
            b'\\' if !raw => i += 2,
            b'\n' | b'\r' if !triple => break,
            c if c == q => {
                if !triple {
                    return i + 1;
                }
                if b.get(i + 1) == Some(&q) && b.get(i + 2) == Some(&q) {
                    return i + 3;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    start + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_bounds_brackets_operators_and_chains() {
        assert_eq!(nesting("x"), 1);
        assert_eq!(nesting("a.b.c"), 3);
        assert_eq!(nesting("((1))"), 3);
        assert_eq!(nesting("f(a.b, c)"), 3);
        assert_eq!(nesting("a && b || !c"), 4);
        assert_eq!(nesting("x in [1, 2]"), 3);
        assert_eq!(nesting("index"), 1, "`in` inside a word is no operator");
        // Brackets and operators inside strings do not count; escapes and raw strings end right.
        assert_eq!(nesting(r#"'((((' + "a\"((" + r'\' + '''x'(('''"#), 4);
        // An unterminated string is read as code: the brackets after it count.
        assert_eq!(nesting("'(((("), 5);
        assert!(nesting(&"(".repeat(10_000)) > 10_000);
        assert!(nesting(&format!("1{}", " + 1".repeat(10_000))) > 10_000);
    }

    #[test]
    fn refusals_name_the_limit_and_its_flag() {
        let e = check_expression(&"a".repeat(20_000)).unwrap_err();
        assert!(e.contains("--max-expression-bytes"), "{e}");
        let e = check_expression(&format!("{}1{}", "[".repeat(200), "]".repeat(200))).unwrap_err();
        assert!(
            e.contains("201 levels") && e.contains("--max-expression-depth"),
            "{e}"
        );
        check_expression("facts.tables.filter(t, t.retention < 90).map(t, {'id': t.name})")
            .unwrap();
    }

    #[test]
    fn min_cost_multiplies_loops_over_literal_lists_only() {
        let cost = |src: &str| min_cost(crate::policy::cel::compile(src).unwrap().expression());
        let list = format!("[{}]", vec!["1"; 1000].join(","));
        let one = cost(&format!("{list}.map(a, a)"));
        let nested = cost(&format!("{list}.map(a, {list}.map(b, {list}.map(c, a)))"));
        assert!(
            nested > 1_000_000_000 && nested > one * 1_000_000,
            "{one} {nested}"
        );
        // `exists` may stop at the first element; facts lists may be empty.
        let exists = cost(&format!("{list}.exists(a, {list}.exists(b, false))"));
        assert!(exists < one * 2, "{exists}");
        assert!(cost("facts.t.map(a, facts.t.map(b, facts.t.map(c, 1)))") < 100);
        let p =
            crate::policy::cel::compile(&format!("{list}.map(a, {list}.map(b, {list}.map(c, a)))"))
                .unwrap();
        let e = check_cost(&p).unwrap_err();
        assert!(e.contains("--eval-cost-limit"), "{e}");
    }

    #[test]
    fn the_shipped_policies_fit_well_inside_the_defaults() {
        let catalog = crate::policy::load_catalog(&[], true).unwrap();
        for c in &catalog.controls {
            let p = &c.policy;
            for src in [
                p.applies_when.as_deref(),
                Some(&p.violations),
                p.notes.as_deref(),
            ]
            .into_iter()
            .flatten()
            {
                assert!(src.len() as u64 * 4 <= MAX_EXPRESSION_BYTES, "{}", p.id);
                let depth = nesting(src) as u64;
                assert!(depth * 3 <= MAX_EXPRESSION_DEPTH, "{}: {depth}", p.id);
                let cost = min_cost(crate::policy::cel::compile(src).unwrap().expression());
                assert!(cost < 10_000, "{}: {cost}", p.id);
            }
        }
    }
}
