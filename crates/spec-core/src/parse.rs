//! The book parser: finds ```` ```requirement ```` blocks with pulldown-cmark and reads their
//! YAML bodies, reporting every defect with the Markdown file and line.

use crate::model::{Level, Provenance, Requirement, SourceKind, is_valid_id};
use crate::problem::{Problem, ProblemKind};
use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
use serde_yaml_ng::{Mapping, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The info string that marks a requirement block.
pub const INFO_STRING: &str = "requirement";

const KEYS: [&str; 5] = ["id", "level", "action", "provenance", "rationale"];
const REQUIRED: [&str; 4] = ["id", "level", "action", "provenance"];
const PROVENANCE_KEYS: [&str; 3] = ["source", "cite", "url"];

/// A fenced requirement block as found in a chapter, before its YAML is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBlock {
    /// The 1-based line of the opening fence.
    pub fence_line: usize,
    /// Byte range of the whole block (fences included) in the chapter text.
    pub range: std::ops::Range<usize>,
    /// The YAML body.
    pub body: String,
}

/// Finds the requirement blocks of one Markdown text, in order.
pub fn find_blocks(text: &str) -> Vec<RawBlock> {
    let mut blocks = Vec::new();
    let mut current: Option<RawBlock> = None;
    // Lines are counted incrementally: a book of thousands of blocks stays linear.
    let (mut counted_to, mut line) = (0, 1);
    for (event, range) in Parser::new(text).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info)))
                if info.split_whitespace().next() == Some(INFO_STRING) =>
            {
                line += text.as_bytes()[counted_to..range.start]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count();
                counted_to = range.start;
                current = Some(RawBlock {
                    fence_line: line,
                    range,
                    body: String::new(),
                });
            }
            Event::Text(t) => {
                if let Some(b) = current.as_mut() {
                    b.body.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some(b) = current.take() {
                    blocks.push(b);
                }
            }
            _ => {}
        }
    }
    blocks
}

/// The 1-based line holding byte `offset`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Parses one chapter. `file` is the repository-relative path used in messages, `chapter` the
/// chapter name recorded on each requirement.
pub fn parse_chapter(file: &str, chapter: &str, text: &str) -> (Vec<Requirement>, Vec<Problem>) {
    let mut reqs = Vec::new();
    let mut problems = Vec::new();
    for block in find_blocks(text) {
        let mut ctx = BlockCtx {
            file,
            block: &block,
            problems: &mut problems,
            id: None,
        };
        if let Some(r) = ctx.parse(chapter) {
            reqs.push(r);
        }
    }
    (reqs, problems)
}

struct BlockCtx<'a> {
    file: &'a str,
    block: &'a RawBlock,
    problems: &'a mut Vec<Problem>,
    id: Option<String>,
}

impl BlockCtx<'_> {
    /// Line of the first body line that starts with `key:` (at any indentation), else the fence.
    fn key_line(&self, key: &str, from_line: usize) -> usize {
        let body_first = self.block.fence_line + 1;
        self.block
            .body
            .lines()
            .enumerate()
            .skip(from_line.saturating_sub(body_first))
            .find(|(_, l)| {
                let t = l.trim_start().trim_start_matches("- ");
                t.strip_prefix(key).is_some_and(|r| r.starts_with(':'))
            })
            .map(|(i, _)| body_first + i)
            .unwrap_or(self.block.fence_line)
    }

    fn problem(&mut self, kind: ProblemKind, line: usize, message: String) {
        self.problems.push(Problem::new(
            kind,
            self.id.as_deref(),
            self.file,
            line,
            message,
        ));
    }

    fn parse(&mut self, chapter: &str) -> Option<Requirement> {
        let fence = self.block.fence_line;
        let value: Value = match serde_yaml_ng::from_str(&self.block.body) {
            Ok(v) => v,
            Err(e) => {
                // The block still names its ID: code that names it is then not reported again.
                self.id = recover_id(&self.block.body);
                // YAML may place an error at the end of the input, one line past the body: the
                // closing fence's line, but past the chapter's last line when the block is left
                // open at the end of a chapter without a final newline (and YAML, unlike
                // Markdown here, also breaks lines at a bare `\r`). The line named is the
                // block's last one then.
                let body = &self.block.body;
                let last = (body.lines().count() + usize::from(body.ends_with('\n'))).max(1);
                let line = e
                    .location()
                    .map(|l| fence + l.line().min(last))
                    .unwrap_or(fence);
                self.problem(
                    ProblemKind::MalformedBlock,
                    line,
                    format!(
                        "requirement block is not valid YAML: {}",
                        chapter_lines(&e.to_string(), fence, last)
                    ),
                );
                return None;
            }
        };
        let Value::Mapping(map) = value else {
            self.problem(
                ProblemKind::MalformedBlock,
                fence,
                "requirement block must be a YAML mapping with keys id, level, action, provenance"
                    .into(),
            );
            return None;
        };
        let fields = self.fields(&map)?;
        let start_errors = self.problems.len();

        let id = self.string_field(&fields, "id");
        self.id = id.clone();
        if let Some(id) = &id
            && !is_valid_id(id)
        {
            let line = self.key_line("id", fence);
            self.problem(
                ProblemKind::BadId,
                line,
                format!(
                    "malformed requirement ID `{id}`: use two or more dot-separated lower-case \
                     segments of letters, digits and inner hyphens, e.g. `identity.passwd.current-user`"
                ),
            );
        }
        let level = self.level(&fields);
        let action = self.string_field(&fields, "action");
        let provenance = self.provenance(&fields);
        let rationale = match fields.get("rationale") {
            None => None,
            Some(_) => self.string_field(&fields, "rationale"),
        };
        if self.problems.len() > start_errors {
            return None;
        }
        let (id, level, action, provenance) = (id?, level?, action?, provenance?);
        let fingerprint = Requirement::compute_fingerprint(&id, level, &action, &provenance);
        Some(Requirement {
            id,
            level,
            action: action.trim().to_owned(),
            provenance,
            rationale: rationale.map(|r| r.trim().to_owned()),
            chapter: chapter.to_owned(),
            file: self.file.to_owned(),
            line: fence,
            fingerprint,
        })
    }

    /// Checks keys: reports unknown and missing ones, all at once.
    fn fields(&mut self, map: &Mapping) -> Option<BTreeMap<String, Value>> {
        let fence = self.block.fence_line;
        let mut fields = BTreeMap::new();
        let mut bad = false;
        for (k, v) in map {
            let Value::String(k) = k else {
                self.problem(
                    ProblemKind::MalformedBlock,
                    fence,
                    format!("requirement keys must be strings, found {k:?}"),
                );
                bad = true;
                continue;
            };
            fields.insert(k.clone(), v.clone());
        }
        if let Some(Value::String(id)) = fields.get("id") {
            self.id = Some(id.clone());
        }
        for k in fields.keys().filter(|k| !KEYS.contains(&k.as_str())) {
            let line = self.key_line(k, fence);
            let message = format!(
                "unknown key `{k}` in requirement block; the keys are {}",
                KEYS.join(", ")
            );
            self.problems.push(Problem::new(
                ProblemKind::UnknownKey,
                self.id.as_deref(),
                self.file,
                line,
                message,
            ));
            bad = true;
        }
        for k in REQUIRED.iter().filter(|k| !fields.contains_key(**k)) {
            self.problem(
                ProblemKind::MissingKey,
                fence,
                format!("requirement block lacks the required key `{k}`"),
            );
            bad = true;
        }
        (!bad).then_some(fields)
    }

    fn string_field(&mut self, fields: &BTreeMap<String, Value>, key: &str) -> Option<String> {
        let line = self.key_line(key, self.block.fence_line);
        match fields.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            Some(Value::String(_)) | Some(Value::Null) => {
                self.problem(ProblemKind::MissingKey, line, format!("`{key}` is empty"));
                None
            }
            Some(other) => {
                self.problem(
                    ProblemKind::MalformedBlock,
                    line,
                    format!("`{key}` must be a string, found {}", kind_of(other)),
                );
                None
            }
            None => None,
        }
    }

    fn level(&mut self, fields: &BTreeMap<String, Value>) -> Option<Level> {
        let line = self.key_line("level", self.block.fence_line);
        let text = match fields.get("level") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => format!("{other:?}"),
            None => return None,
        };
        let level = Level::parse(&text);
        if level.is_none() {
            self.problem(
                ProblemKind::BadLevel,
                line,
                format!("level `{text}` is not one of MUST, SHOULD, MAY"),
            );
        }
        level
    }

    fn provenance(&mut self, fields: &BTreeMap<String, Value>) -> Option<Vec<Provenance>> {
        let fence = self.block.fence_line;
        let line = self.key_line("provenance", fence);
        let items = match fields.get("provenance") {
            Some(Value::Sequence(items)) => items.clone(),
            Some(Value::Null) => Vec::new(),
            Some(other) => {
                self.problem(
                    ProblemKind::MalformedBlock,
                    line,
                    format!("`provenance` must be a list, found {}", kind_of(other)),
                );
                return None;
            }
            None => return None,
        };
        if items.is_empty() {
            self.problem(
                ProblemKind::EmptyProvenance,
                line,
                "`provenance` is empty: cite at least one primary source".into(),
            );
            return None;
        }
        let mut out = Vec::new();
        let mut entry_line = line;
        for (i, item) in items.iter().enumerate() {
            entry_line = self.key_line("source", entry_line + 1).max(line);
            let n = i + 1;
            let Value::Mapping(m) = item else {
                self.problem(
                    ProblemKind::BadProvenance,
                    entry_line,
                    format!("provenance entry {n} must be a mapping with source, cite, url"),
                );
                continue;
            };
            let get = |key: &str| -> Option<String> {
                match m.get(key) {
                    Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
                    _ => None,
                }
            };
            let (source, cite, url) = (get("source"), get("cite"), get("url"));
            for k in m.keys() {
                let name = k.as_str().unwrap_or("?");
                if !PROVENANCE_KEYS.contains(&name) {
                    self.problem(
                        ProblemKind::UnknownKey,
                        entry_line,
                        format!("unknown key `{name}` in provenance entry {n}; the keys are source, cite, url"),
                    );
                }
            }
            let mut missing = Vec::new();
            for (k, v) in [("source", &source), ("cite", &cite), ("url", &url)] {
                if v.is_none() {
                    missing.push(k);
                }
            }
            if !missing.is_empty() {
                self.problem(
                    ProblemKind::BadProvenance,
                    entry_line,
                    format!("provenance entry {n} lacks {}", missing.join(", ")),
                );
                continue;
            }
            let (source, cite, url) = (source?, cite?, url?);
            let Some(kind) = SourceKind::parse(&source) else {
                let all: Vec<_> = SourceKind::ALL.iter().map(|k| k.as_str()).collect();
                self.problem(
                    ProblemKind::BadProvenance,
                    entry_line,
                    format!(
                        "provenance entry {n} has unknown source `{source}`; use one of {}",
                        all.join(", ")
                    ),
                );
                continue;
            };
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                self.problem(
                    ProblemKind::BadProvenance,
                    entry_line,
                    format!("provenance entry {n} has url `{url}`, which is not an http(s) URL"),
                );
                continue;
            }
            out.push(Provenance {
                source: kind,
                cite,
                url,
            });
        }
        Some(out)
    }
}

/// The ID of a block whose YAML does not parse, read from its top-level `id:` line, if that is
/// a well-formed ID.
fn recover_id(body: &str) -> Option<String> {
    body.lines()
        .find_map(|l| l.strip_prefix("id:"))
        .map(|v| v.trim().trim_matches(['"', '\'']).to_owned())
        .filter(|id| is_valid_id(id))
}

/// A YAML error message with each `line N` of the block made the chapter's line, so that every
/// line a message names is one of the chapter (the block's body starts after `fence`; a line
/// past the body's `last` is its last).
fn chapter_lines(message: &str, fence: usize, last: usize) -> String {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"\bline (\d+)").expect("static regex"))
        .replace_all(message, |c: &regex::Captures<'_>| {
            let n: usize = c[1].parse().unwrap_or(0);
            format!("line {}", fence + n.min(last))
        })
        .into_owned()
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// The chapter files `book_src/SUMMARY.md` links to, in reading order (none without one).
fn summary_links(book_src: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(book_src.join("SUMMARY.md")) else {
        return Vec::new();
    };
    Parser::new(&text)
        .filter_map(|ev| match ev {
            Event::Start(Tag::Link { dest_url, .. }) => {
                Some(dest_url.trim_start_matches("./").to_owned())
            }
            _ => None,
        })
        .collect()
}

/// Every requirement of a book, and every defect found reading it.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    /// The requirements, in book order (chapters as `SUMMARY.md` lists them, then any other
    /// Markdown file by path; blocks in order).
    pub requirements: Vec<Requirement>,
    /// Defects: chapters that are not UTF-8, malformed blocks and duplicate IDs.
    pub problems: Vec<Problem>,
    /// IDs named by blocks that could not be read (each block's defect is among `problems`).
    pub unreadable: BTreeSet<String>,
}

impl Registry {
    /// Looks a requirement up by ID.
    pub fn get(&self, id: &str) -> Option<&Requirement> {
        self.requirements.iter().find(|r| r.id == id)
    }

    /// Every ID a block of the book names: the requirements', and those of blocks that could
    /// not be read. Code naming one of these names no unknown requirement: a defective block is
    /// one problem, not one more per `#[implements]` and `#[verifies]` naming its ID.
    pub fn defined_ids(&self) -> BTreeSet<&str> {
        self.requirements
            .iter()
            .map(|r| r.id.as_str())
            .chain(self.unreadable.iter().map(String::as_str))
            .collect()
    }

    /// Reads every Markdown file below `book_src`. Paths in the registry are relative to
    /// `repo_root`. A chapter that is not UTF-8 is a problem of the registry, not an error: only
    /// a file that cannot be read at all fails the whole book.
    pub fn load(repo_root: &Path, book_src: &Path) -> std::io::Result<Registry> {
        let mut files: Vec<_> = walkdir::WalkDir::new(book_src)
            .sort_by_file_name()
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "md"))
            .map(|e| e.into_path())
            .collect();
        files.sort();
        let summary_order = summary_links(book_src);
        // Stable: files SUMMARY.md does not list keep their path order, after the listed ones.
        files.sort_by_key(|p| {
            let rel = p.strip_prefix(book_src).unwrap_or(p);
            summary_order
                .iter()
                .position(|l| Path::new(l) == rel)
                .unwrap_or(usize::MAX)
        });
        let mut chapters = Vec::new();
        let mut not_utf8 = Vec::new();
        for path in files {
            let file = rel(repo_root, &path);
            let (text, problem) = read_chapter(&path, &file)?;
            not_utf8.extend(problem);
            let chapter = path
                .strip_prefix(book_src)
                .unwrap_or(&path)
                .with_extension("")
                .to_string_lossy()
                .into_owned();
            chapters.push((file, chapter, text));
        }
        let mut reg = Registry::from_chapters(
            chapters
                .iter()
                .map(|(f, c, t)| (f.as_str(), c.as_str(), t.as_str())),
        );
        // First: a byte that is not UTF-8 may be what breaks a block reported after it.
        not_utf8.append(&mut reg.problems);
        reg.problems = not_utf8;
        Ok(reg)
    }

    /// Builds a registry from `(file, chapter, text)` triples; reports duplicate IDs at both places.
    pub fn from_chapters<'a>(
        chapters: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> Registry {
        let mut reg = Registry::default();
        let mut seen: std::collections::HashMap<String, (String, usize)> = Default::default();
        for (file, chapter, text) in chapters {
            let (reqs, problems) = parse_chapter(file, chapter, text);
            // Every problem of a block drops its requirement.
            reg.unreadable
                .extend(problems.iter().filter_map(|p| p.id.clone()));
            reg.problems.extend(problems);
            for r in reqs {
                if let Some((ff, fl)) = seen.get(&r.id).cloned() {
                    reg.problems.push(Problem::new(
                        ProblemKind::DuplicateId,
                        Some(&r.id),
                        &r.file,
                        r.line,
                        format!(
                            "duplicate requirement ID `{}`: first defined at {ff}:{fl}",
                            r.id
                        ),
                    ));
                    reg.problems.push(Problem::new(
                        ProblemKind::DuplicateId,
                        Some(&r.id),
                        &ff,
                        fl,
                        format!(
                            "duplicate requirement ID `{}`: defined again at {}:{}",
                            r.id, r.file, r.line
                        ),
                    ));
                    continue;
                }
                seen.insert(r.id.clone(), (r.file.clone(), r.line));
                reg.requirements.push(r);
            }
        }
        reg
    }
}

/// Reads the chapter at `path` (`file` in messages). A chapter that is not UTF-8 is one problem,
/// at its first invalid byte, and is read with U+FFFD for each invalid sequence: its
/// requirements still load, so one bad byte does not turn every `#[verifies]` naming them into
/// an "unknown ID" problem, nor stop the other chapters from being read.
fn read_chapter(path: &Path, file: &str) -> std::io::Result<(String, Option<Problem>)> {
    let bytes = std::fs::read(path)?;
    Ok(match String::from_utf8(bytes) {
        Ok(text) => (text, None),
        Err(e) => {
            let problem = not_utf8(file, e.as_bytes(), e.utf8_error().valid_up_to());
            (
                String::from_utf8_lossy(e.as_bytes()).into_owned(),
                Some(problem),
            )
        }
    })
}

/// The problem of chapter `file` whose `bytes` stop being UTF-8 at byte `at`: at that line, with
/// the column (in bytes, as an editor's hex view or `cut -b` counts) and the offset, since the
/// byte itself may not show in the reader's terminal.
fn not_utf8(file: &str, bytes: &[u8], at: usize) -> Problem {
    let before = &bytes[..at];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    Problem::new(
        ProblemKind::BadEncoding,
        None,
        file,
        line,
        format!(
            "the chapter is not UTF-8: byte 0x{:02x} at column {} (offset {at}) starts no valid \
             character; save the file as UTF-8 (it was read with U+FFFD in place of each \
             invalid sequence)",
            bytes[at],
            at - line_start + 1
        ),
    )
}

/// `path` relative to `root`, with `/` separators.
pub fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}
