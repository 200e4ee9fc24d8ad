//! The node kinds and field names the walk looks at, as tables indexed by tree-sitter's ids.
//! Native only — the twin compares py-tree-sitter's strings, and the answers are the same.
//!
//! `Node::kind()` and `TreeCursor::field_name()` turn a C string into `&str` (strlen and a UTF-8
//! check) on every call; the walk asked about 90,000 times per 1,000 command lines, a tenth of
//! its time (callgrind, issue 23). The ids are small integers, so each question is one load.
//! Every id of a name maps to what that name means, so the answers equal the string compares.

use std::sync::OnceLock;

use tree_sitter::{Language, Node};

/// What a node kind means to the walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Other,
    Command,
    RedirectedStatement,
    /// `list` and `negated_command`: their last statement takes their redirections.
    Chain,
    /// Like a chain, and it also ends a heredoc redirection's own text (`cat <<EOF | grep x`).
    Pipeline,
    Comment,
    FileRedirect,
    HeredocRedirect,
    HerestringRedirect,
    /// `heredoc_body` and `heredoc_end`: a heredoc redirection's own text ends before them.
    HeredocTail,
    /// Expansions and substitutions: kept as source text (`VERBATIM_KINDS`).
    Verbatim,
    RawString,
    AnsiCString,
    String,
    TranslatedString,
    /// The `"` token.
    DoubleQuote,
    /// The `$` token.
    Dollar,
}

impl Kind {
    /// `file_redirect`, `heredoc_redirect` or `herestring_redirect`.
    pub fn is_redirect(self) -> bool {
        matches!(
            self,
            Kind::FileRedirect | Kind::HeredocRedirect | Kind::HerestringRedirect
        )
    }

    /// A kind that ends a heredoc redirection's own text.
    pub fn is_heredoc_tail(self) -> bool {
        matches!(self, Kind::HeredocTail | Kind::Pipeline)
    }
}

/// What a field name means to the walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    None,
    Name,
    Argument,
    Body,
    Destination,
    Redirect,
    /// `operator` and `right`: they end a heredoc redirection's own text.
    HeredocTail,
    Other,
}

fn kind_named(name: &str) -> Kind {
    match name {
        "command" => Kind::Command,
        "redirected_statement" => Kind::RedirectedStatement,
        "list" | "negated_command" => Kind::Chain,
        "pipeline" => Kind::Pipeline,
        "comment" => Kind::Comment,
        "file_redirect" => Kind::FileRedirect,
        "heredoc_redirect" => Kind::HeredocRedirect,
        "herestring_redirect" => Kind::HerestringRedirect,
        "heredoc_body" | "heredoc_end" => Kind::HeredocTail,
        _ if super::VERBATIM_KINDS.contains(&name) => Kind::Verbatim,
        "raw_string" => Kind::RawString,
        "ansi_c_string" => Kind::AnsiCString,
        "string" => Kind::String,
        "translated_string" => Kind::TranslatedString,
        "\"" => Kind::DoubleQuote,
        "$" => Kind::Dollar,
        _ => Kind::Other,
    }
}

fn field_named(name: &str) -> Field {
    match name {
        "name" => Field::Name,
        "argument" => Field::Argument,
        "body" => Field::Body,
        "destination" => Field::Destination,
        "redirect" => Field::Redirect,
        _ if super::HEREDOC_TAIL_FIELDS.contains(&name) => Field::HeredocTail,
        _ => Field::Other,
    }
}

struct Tables {
    kinds: Vec<Kind>,
    fields: Vec<Field>,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let language: Language = tree_sitter_bash::LANGUAGE.into();
        let kinds = (0..language.node_kind_count())
            .map(|id| {
                u16::try_from(id)
                    .ok()
                    .and_then(|id| language.node_kind_for_id(id))
                    .map_or(Kind::Other, kind_named)
            })
            .collect();
        let fields = (0..=language.field_count())
            .map(|id| {
                u16::try_from(id)
                    .ok()
                    .and_then(|id| language.field_name_for_id(id))
                    .map_or(Field::Other, field_named)
            })
            .collect();
        Tables { kinds, fields }
    })
}

/// What `node`'s kind means to the walk.
#[inline]
pub fn kind(node: Node<'_>) -> Kind {
    tables()
        .kinds
        .get(usize::from(node.kind_id()))
        .copied()
        .unwrap_or(Kind::Other)
}

/// What the field id a cursor reports means to the walk (`None` for no field).
#[inline]
pub fn field(id: Option<std::num::NonZeroU16>) -> Field {
    match id {
        None => Field::None,
        Some(id) => tables()
            .fields
            .get(usize::from(id.get()))
            .copied()
            .unwrap_or(Field::Other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_means_what_its_name_says() {
        let language: Language = tree_sitter_bash::LANGUAGE.into();
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&language).unwrap();
        let source = "a | b && c > f <<EOF $x \"$y\" 'z' $'w' $\"t\" <<< s\nq\nEOF\n";
        let tree = parser.parse(source, None).unwrap();
        let mut stack = vec![tree.root_node()];
        let mut seen = 0;
        while let Some(node) = stack.pop() {
            assert_eq!(kind(node), kind_named(node.kind()), "{}", node.kind());
            seen += 1;
            let mut cursor = node.walk();
            if cursor.goto_first_child() {
                loop {
                    let named = cursor.field_name().map_or(Field::None, field_named);
                    assert_eq!(field(cursor.field_id()), named);
                    stack.push(cursor.node());
                    if !cursor.goto_next_sibling() {
                        break;
                    }
                }
            }
        }
        assert!(seen > 30);
        assert!(tables().kinds.contains(&Kind::Command));
    }
}
