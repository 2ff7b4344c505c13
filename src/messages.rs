//! litellm's `token_counter(messages=...)` accounting (litellm_core_utils/token_counter.py:
//! `_count_messages`, `_count_content_list`, `_count_extra`, `_format_function_definitions`),
//! computed from one JSON request. Whatever litellm would raise on, format with Python's
//! `repr`, download, or that is not modelled here, returns a `Fallback` so the host hands
//! the request to litellm's own code: never a guess.

use crate::count::{count_text, CountSettings};
use crate::encodings::Encoding;
use crate::images::image_tokens;
use crate::json::Json;

/// Why a request goes back to litellm. The codes are the WIT `count-request` contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fallback {
    /// Not a request of the documented shape.
    BadRequest = -1,
    /// litellm raises on it, or formats a non-string value with Python's `str()`.
    Raises = -2,
    /// A content block or message key this component does not model.
    Unmodelled = -3,
    /// An image litellm would download, or whose bytes it could not read.
    Image = -4,
    /// A tools definition shape not modelled here.
    Tools = -5,
}

type Counted = Result<i64, Fallback>;

struct Counter<'a> {
    encoding: Encoding,
    settings: &'a CountSettings,
    use_default_image: bool,
    /// litellm (1.109+) reads inline images in "auto" detail (`_auto_image_dimensions`):
    /// those go back to it, and a non-string url there makes it raise.
    auto_reads_inline_images: bool,
}

impl Counter<'_> {
    fn count(&self, text: &str) -> i64 {
        count_text(self.encoding, text, self.settings) as i64
    }
}

/// `[encoding, tokens_per_message, tokens_per_name, flags, messages, tools, tool_choice]`,
/// optionally followed by `tools_share`: what non-empty tools add (counted before by a
/// request of their own, see `tools_share`), sent with `tools` null so a host that
/// remembers it need not send the definitions again.
pub fn count_request(request: &str, settings: &CountSettings) -> Counted {
    let parsed = Json::parse(request).ok_or(Fallback::BadRequest)?;
    let Json::Arr(parts) = parsed else { return Err(Fallback::BadRequest) };
    let (parts, tools_share) = match parts.as_slice() {
        [a, b, c, d, e, Json::Null, g, Json::Int(share)] if (0..=i64::MAX as i128).contains(share) => {
            ([a, b, c, d, e, &Json::Null, g], Some(*share as i64))
        }
        [a, b, c, d, e, f, g] => ([a, b, c, d, e, f, g], None),
        _ => return Err(Fallback::BadRequest),
    };
    let [Json::Int(enc), Json::Int(per_message), Json::Int(per_name), Json::Int(flags), Json::Arr(messages), tools, tool_choice] =
        parts
    else {
        return Err(Fallback::BadRequest);
    };
    let encoding = u64::try_from(*enc).ok().and_then(Encoding::from_index).ok_or(Fallback::BadRequest)?;
    let counter = Counter {
        encoding,
        settings,
        use_default_image: flags & 2 != 0,
        auto_reads_inline_images: flags & 4 != 0,
    };
    let count_response_tokens = flags & 1 != 0;
    let (per_message, per_name) = (*per_message as i64, *per_name as i64);

    let mut total = 0i64;
    for message in messages {
        total += count_message(&counter, message, per_message, per_name)?;
    }
    if !count_response_tokens {
        let has_system = messages
            .iter()
            .any(|m| m.get("role").and_then(Json::as_str) == Some("system"));
        total += count_extra(&counter, tools, tool_choice, has_system, tools_share)?;
    }
    if total < 0 {
        return Err(Fallback::BadRequest);
    }
    Ok(total)
}

fn count_message(c: &Counter, message: &Json, per_message: i64, per_name: i64) -> Counted {
    let Json::Obj(members) = message else { return Err(Fallback::Raises) };
    if !message.is_clean_object() {
        return Err(Fallback::BadRequest);
    }
    let mut total = per_message;
    for (key, value) in members {
        match (key.as_ref(), value) {
            (_, Json::Null) => {}
            ("tool_calls", Json::Arr(calls)) => {
                for call in calls {
                    let function = clean_get(call, "function").ok_or(Fallback::Raises)?;
                    total += count_arguments(c, function)?;
                }
            }
            ("tool_calls", _) => return Err(Fallback::Raises),
            ("function_call", call) => total += count_arguments(c, call)?,
            (_, Json::Str(s)) => {
                total += c.count(s);
                if key == "name" {
                    total += per_name;
                }
            }
            ("content", Json::Arr(blocks)) => total += count_content_list(c, blocks)?,
            ("search_results", Json::Arr(_)) => return Err(Fallback::Unmodelled),
            _ => {}
        }
    }
    Ok(total)
}

/// A member of a dict-like value, requiring the whole value to be a clean object.
fn clean_get<'j, 'a>(value: &'j Json<'a>, key: &str) -> Option<&'j Json<'a>> {
    if value.is_clean_object() {
        value.get(key)
    } else {
        None
    }
}

/// `str(function.get("arguments", ""))` counted; only strings are served.
fn count_arguments(c: &Counter, function: &Json) -> Counted {
    if !function.is_clean_object() {
        return Err(Fallback::Raises);
    }
    match function.get("arguments") {
        None => Ok(0),
        Some(Json::Str(s)) => Ok(c.count(s)),
        Some(_) => Err(Fallback::Raises),
    }
}

/// An optional string member: absent counts as "", anything but a string is not served.
fn optional_str<'j>(block: &'j Json<'_>, key: &str) -> Result<&'j str, Fallback> {
    match block.get(key) {
        None => Ok(""),
        Some(Json::Str(s)) => Ok(s),
        Some(_) => Err(Fallback::Raises),
    }
}

fn count_content_list(c: &Counter, blocks: &[Json]) -> Counted {
    let mut total = 0;
    for block in blocks {
        if let Json::Str(s) = block {
            total += c.count(s);
            continue;
        }
        let kind = clean_get(block, "type").ok_or(Fallback::Raises)?;
        let Json::Str(kind) = kind else { return Err(Fallback::Raises) };
        total += match kind.as_ref() {
            "text" => c.count(optional_str(block, "text")?),
            "image_url" => count_image_url(c, block.get("image_url"))?,
            "thinking" | "redacted_thinking" => c.count(optional_str(block, "thinking")?),
            "tool_reference" => match block.get("tool_name") {
                Some(Json::Str(s)) => c.count(s),
                Some(v) if v.truthy() => return Err(Fallback::Raises),
                _ => 0,
            },
            "image" | "document" | "file" | "tool_use" | "tool_result" => {
                return Err(Fallback::Unmodelled)
            }
            _ => return Err(Fallback::Raises),
        };
    }
    Ok(total)
}

/// `_count_image_tokens`.
fn count_image_url(c: &Counter, image_url: Option<&Json>) -> Counted {
    let (url, detail) = match image_url {
        Some(obj @ Json::Obj(_)) => {
            if !obj.is_clean_object() {
                return Err(Fallback::BadRequest);
            }
            let detail = match obj.get("detail") {
                None => "auto",
                Some(Json::Str(d)) if ["low", "high", "auto"].contains(&d.as_ref()) => d.as_ref(),
                Some(_) => return Err(Fallback::Raises),
            };
            let url = obj.get("url").filter(|u| u.truthy()).ok_or(Fallback::Raises)?;
            (url, detail)
        }
        Some(url @ Json::Str(s)) => {
            if s.chars().all(python_isspace) {
                return Err(Fallback::Raises);
            }
            (url, "auto")
        }
        _ => return Err(Fallback::Raises),
    };
    let reads_auto = c.auto_reads_inline_images && !c.use_default_image && detail == "auto";
    let data = match url {
        Json::Str(s) => s.as_ref(),
        // litellm ignores the value when it does not need to read the image.
        _ if c.use_default_image || detail == "low" || (detail == "auto" && !reads_auto) => "",
        _ => return Err(Fallback::Raises),
    };
    if reads_auto && data.starts_with("data:image/") {
        return Err(Fallback::Image);
    }
    image_tokens(data, detail, c.use_default_image, c.settings)
        .map(|t| t as i64)
        .ok_or(Fallback::Image)
}

/// Python's `str.isspace` for one char.
fn python_isspace(ch: char) -> bool {
    ch.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&ch)
}

/// What non-empty `tools` add to a request before litellm's -4 for a system message: the
/// count of their definitions as litellm formats them, plus 9. Depends on the tools and
/// the encoding only, so a host can count it once and send it with later requests.
fn tools_share(c: &Counter, tools: &Json) -> Counted {
    let Json::Arr(tools) = tools else { return Err(Fallback::Tools) };
    Ok(c.count(&format_function_definitions(tools)?) + 9)
}

/// `_count_extra`: reply primer, tools, tool_choice.
fn count_extra(c: &Counter, tools: &Json, tool_choice: &Json, has_system: bool, share: Option<i64>) -> Counted {
    let mut total = 3;
    let share = match share {
        Some(share) => Some(share),
        None if tools.truthy() => Some(tools_share(c, tools)?),
        None => None,
    };
    if let Some(share) = share {
        total += share;
        if has_system {
            total -= 4;
        }
    }
    match tool_choice {
        Json::Str(s) if s == "none" => total += 1,
        Json::Obj(_) => {
            let function = clean_get(tool_choice, "function").ok_or(Fallback::Raises)?;
            let name = clean_get(function, "name").ok_or(Fallback::Raises)?;
            let Json::Str(name) = name else { return Err(Fallback::Raises) };
            total += 7 + c.count(name);
        }
        _ => {}
    }
    Ok(total)
}

type Formatted = Result<String, Fallback>;

/// `_format_function_definitions`.
pub fn format_function_definitions(tools: &[Json]) -> Formatted {
    let mut lines: Vec<String> = vec!["namespace functions {".into(), String::new()];
    for tool in tools {
        if !matches!(tool, Json::Obj(_)) {
            continue;
        }
        if !tool.is_clean_object() {
            return Err(Fallback::BadRequest);
        }
        if let Some(function @ Json::Obj(_)) = tool.get("function") {
            format_single_function(function, &mut lines)?;
            continue;
        }
        let declarations = match tool.get("function_declarations") {
            Some(d) if d.truthy() => Some(d),
            _ => tool.get("functionDeclarations"),
        };
        if let Some(Json::Arr(_)) = declarations {
            // list vs tuple is lost in JSON and litellm tells them apart here.
            return Err(Fallback::Tools);
        }
        // litellm 1.109+ merges an Anthropic-style tool's unmapped top-level keys into its
        // parameters; only these two of them change what is formatted.
        let input_schema = tool.get("input_schema").filter(|s| !matches!(s, Json::Null));
        if input_schema.is_some() && (tool.get("properties").is_some() || tool.get("required").is_some()) {
            return Err(Fallback::Tools);
        }
        let parameters = [tool.get("input_schema"), tool.get("parameters")]
            .into_iter()
            .flatten()
            .find(|p| p.truthy());
        let parameters = match parameters {
            Some(p @ Json::Obj(_)) => p.clone(),
            _ => Json::Obj(vec![]),
        };
        let function = Json::Obj(vec![
            ("name".into(), tool.get("name").cloned().unwrap_or(Json::Null)),
            ("description".into(), tool.get("description").cloned().unwrap_or(Json::Null)),
            ("parameters".into(), parameters),
        ]);
        format_single_function(&function, &mut lines)?;
    }
    lines.push("} // namespace functions".into());
    Ok(lines.join("\n"))
}

/// A value litellm puts in an f-string after a truthiness check; only strings are served.
fn truthy_str<'j>(value: Option<&'j Json<'_>>) -> Result<Option<&'j str>, Fallback> {
    match value {
        Some(v) if v.truthy() => v.as_str().map(Some).ok_or(Fallback::Raises),
        _ => Ok(None),
    }
}

fn format_single_function(function: &Json, lines: &mut Vec<String>) -> Result<(), Fallback> {
    if !function.is_clean_object() {
        return Err(Fallback::BadRequest);
    }
    let Some(name) = truthy_str(function.get("name"))? else { return Ok(()) };
    let description = truthy_str(function.get("description"))?;
    let parameters = match function.get("parameters") {
        Some(p @ Json::Obj(_)) if p.truthy() => p,
        _ => &Json::Null,
    };
    if let Some(d) = description {
        lines.push(format!("// {d}"));
    }
    match parameters.get("properties") {
        Some(Json::Obj(members)) if !members.is_empty() => {
            lines.push(format!("type {name} = (_: {{"));
            lines.push(format_object_parameters(parameters, 0)?);
            lines.push("}) => any;".into());
        }
        _ => lines.push(format!("type {name} = () => any;")),
    }
    lines.push(String::new());
    Ok(())
}

/// A property name whose text a non-string Python key could also have produced.
fn ambiguous_key(key: &str) -> bool {
    matches!(key, "true" | "false" | "null" | "NaN" | "Infinity" | "-Infinity")
        || key.parse::<f64>().is_ok()
}

/// `_format_object_parameters`.
fn format_object_parameters(parameters: &Json, indent: usize) -> Formatted {
    if !parameters.is_clean_object() {
        return Err(Fallback::BadRequest);
    }
    let properties = match parameters.get("properties") {
        Some(p) if p.truthy() => p,
        _ => return Ok(String::new()),
    };
    let Json::Obj(members) = properties else { return Err(Fallback::Raises) };
    if !properties.is_clean_object() {
        return Err(Fallback::BadRequest);
    }
    let required = parameters.get("required").unwrap_or(&Json::Null);
    let mut lines = Vec::with_capacity(members.len() * 2);
    for (key, props) in members {
        if ambiguous_key(key) {
            return Err(Fallback::Tools);
        }
        if !props.is_clean_object() {
            return Err(Fallback::Raises);
        }
        if let Some(d) = truthy_str(props.get("description"))? {
            lines.push(format!("// {d}"));
        }
        let required_here = match required {
            r if !r.truthy() => false,
            Json::Arr(items) => items.iter().any(|i| i.as_str() == Some(key.as_ref())),
            // litellm 1.106 tests `key in required`, 1.109 ignores a required that is not a list
            Json::Str(_) | Json::Obj(_) => return Err(Fallback::Tools),
            _ => return Err(Fallback::Raises),
        };
        let question = if required_here { "" } else { "?" };
        lines.push(format!("{key}{question}: {},", format_type(props, indent)?));
    }
    let pad = " ".repeat(indent);
    Ok(lines.iter().map(|l| format!("{pad}{l}")).collect::<Vec<_>>().join("\n"))
}

/// `_format_type`.
fn format_type(props: &Json, indent: usize) -> Formatted {
    if !props.is_clean_object() {
        return Err(Fallback::Raises);
    }
    let kind = props.get("type").and_then(Json::as_str).unwrap_or("");
    Ok(match kind {
        "string" if props.get("enum").is_some() => format_enum(props.get("enum"))?,
        "string" => "string".into(),
        "array" => {
            let items = props.get("items").ok_or(Fallback::Raises)?;
            format!("{}[]", format_type(items, indent)?)
        }
        "object" => format!("{{\n{}\n}}", format_object_parameters(props, indent + 2)?),
        "integer" | "number" if props.get("enum").is_some() => format_enum(props.get("enum"))?,
        "integer" | "number" => "number".into(),
        "boolean" => "boolean".into(),
        "null" => "null".into(),
        _ => "any".into(),
    })
}

/// `" | ".join(f'"{item}"' for item in enum)` for string and integer items.
fn format_enum(items: Option<&Json>) -> Formatted {
    let Some(Json::Arr(items)) = items else { return Err(Fallback::Tools) };
    let parts: Result<Vec<String>, Fallback> = items
        .iter()
        .map(|item| match item {
            Json::Str(s) => Ok(format!("\"{s}\"")),
            Json::Int(i) => Ok(format!("\"{i}\"")),
            _ => Err(Fallback::Tools),
        })
        .collect();
    Ok(parts?.join(" | "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(req: &str) -> Counted {
        count_request(req, &CountSettings::default())
    }

    #[test]
    fn a_tools_share_sent_instead_of_the_tools_counts_the_same() {
        let tools = r#"[{"type":"function","function":{"name":"f","description":"Get it.","parameters":{"type":"object","properties":{"x":{"type":"string","description":"an x"}}}}}]"#;
        let share = count(&format!("[0,0,0,0,[],{tools},null]")).unwrap() - 3; // less the reply primer
        for messages in [r#"[{"role":"user","content":"hi"}]"#, r#"[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}]"#] {
            for tool_choice in ["null", r#""none""#, r#"{"type":"function","function":{"name":"f"}}"#] {
                let full = count(&format!("[0,3,1,0,{messages},{tools},{tool_choice}]"));
                assert_eq!(count(&format!("[0,3,1,0,{messages},null,{tool_choice},{share}]")), full);
            }
        }
        // the share stands for tools that were there: with tools also sent, or a negative
        // share, the request is not one this format allows
        assert_eq!(count(&format!("[0,3,1,0,[],{tools},null,{share}]")), Err(Fallback::BadRequest));
        assert_eq!(count("[0,3,1,0,[],null,null,-1]"), Err(Fallback::BadRequest));
    }

    #[test]
    fn inline_images_in_auto_detail_go_back_where_litellm_reads_them() {
        let png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
        let with = |flags: u8, image: &str| {
            count(&format!(r#"[0,3,1,{flags},[{{"content":[{{"type":"image_url","image_url":{image}}}]}}],null,null]"#))
        };
        for image in [format!(r#""{png}""#), format!(r#"{{"url":"{png}"}}"#), format!(r#"{{"url":"{png}","detail":"auto"}}"#)] {
            assert_eq!(with(0, &image), Ok(3 + 85 + 3), "{image}"); // 1.106: the base estimate
            assert_eq!(with(4, &image), Err(Fallback::Image), "{image}"); // 1.109: decoded by litellm
            assert_eq!(with(4 | 2, &image), with(2, &image), "{image}"); // the default count reads nothing
        }
        // low detail and web URLs are not read in auto detail on either release
        assert_eq!(with(4, &format!(r#"{{"url":"{png}","detail":"low"}}"#)), Ok(3 + 85 + 3));
        assert_eq!(with(4, r#""https://a/b.png""#), Ok(3 + 85 + 3));
        // a url that is not a string: ignored by 1.106 in auto detail, a str method call on 1.109
        assert_eq!(with(0, r#"{"url":1}"#), Ok(3 + 85 + 3));
        assert_eq!(with(4, r#"{"url":1}"#), Err(Fallback::Raises));
        assert_eq!(with(4, r#"{"url":1,"detail":"low"}"#), Ok(3 + 85 + 3));
    }

    #[test]
    fn tool_shapes_the_releases_format_differently_go_back() {
        let tools_count = |tools: &str| count(&format!("[0,3,1,0,[],{tools},null]"));
        // a required that is not a list
        for required in [r#""x""#, r#"{"x":1}"#] {
            let tools = format!(
                r#"[{{"type":"function","function":{{"name":"f","parameters":{{"type":"object","properties":{{"x":{{"type":"string"}}}},"required":{required}}}}}}}]"#
            );
            assert_eq!(tools_count(&tools), Err(Fallback::Tools), "{tools}");
        }
        // an Anthropic-style tool with top-level properties or required beside its input_schema
        for extra in [r#""properties":{"y":{"type":"string"}}"#, r#""required":["x"]"#] {
            let tools = format!(
                r#"[{{"name":"f","input_schema":{{"type":"object","properties":{{"x":{{"type":"string"}}}}}},{extra}}}]"#
            );
            assert_eq!(tools_count(&tools), Err(Fallback::Tools), "{tools}");
        }
        let plain = r#"[{"name":"f","input_schema":{"type":"object","properties":{"x":{"type":"string"}}}}]"#;
        assert!(tools_count(plain).is_ok());
        let without_schema = r#"[{"name":"f","input_schema":null,"properties":{"y":{"type":"string"}}}]"#;
        assert!(tools_count(without_schema).is_ok());
    }

    #[test]
    fn one_user_message() {
        // 3 per message + "user" (1) + "hello" (1) + 3 reply primer
        assert_eq!(count(r#"[0,3,1,0,[{"role":"user","content":"hello"}],null,null]"#), Ok(8));
    }

    #[test]
    fn name_bonus_and_legacy_constants() {
        assert_eq!(count(r#"[0,3,1,1,[{"role":"user","name":"bob"}],null,null]"#), Ok(3 + 1 + 1 + 1));
        assert_eq!(count(r#"[0,4,-1,1,[{"role":"user","name":"bob"}],null,null]"#), Ok(4 + 1 + 1 - 1));
    }

    #[test]
    fn falls_back_instead_of_guessing() {
        assert_eq!(count(r#"[0,3,1,0,[{"role":"user","tool_calls":"x"}],null,null]"#), Err(Fallback::Raises));
        assert_eq!(count(r#"[0,3,1,0,[{"content":[{"type":"file"}]}],null,null]"#), Err(Fallback::Unmodelled));
        assert_eq!(count(r#"[0,3,1,0,[{"content":[{"type":"image_url","image_url":"https://a/b"}]}],null,null]"#), Ok(3 + 85 + 3));
        assert_eq!(count("not json"), Err(Fallback::BadRequest));
    }

    #[test]
    fn formats_tools_like_litellm() {
        let tools = Json::parse(r#"[{"type":"function","function":{"name":"get_weather","description":"Get weather","parameters":{"type":"object","properties":{"city":{"type":"string","description":"City"},"unit":{"type":"string","enum":["c","f"]}},"required":["city"]}}}]"#).unwrap();
        let Json::Arr(tools) = tools else { panic!() };
        assert_eq!(
            format_function_definitions(&tools).unwrap(),
            "namespace functions {\n\n// Get weather\ntype get_weather = (_: {\n// City\ncity: string,\nunit?: \"c\" | \"f\",\n}) => any;\n\n} // namespace functions"
        );
    }
}
