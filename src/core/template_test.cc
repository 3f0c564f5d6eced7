#include "core/template.h"

#include <gtest/gtest.h>

namespace berth::tmpl {
namespace {

using nlohmann::json;

const json kDoc = json::parse(R"({
  "name": "web1",
  "exit_code": 0,
  "State": {"Pid": 4242, "Running": true, "Status": "running"},
  "NetworkSettings": {"Networks": {"web": {"IPAddress": "10.9.0.2"}, "db": {"IPAddress": "10.8.0.3"}}},
  "Config": {"Cmd": ["sleep", "100"], "Env": []},
  "Labels": {"a-b": "dash", "x": "1"},
  "ratio": 1.5,
  "big": 1000000.0,
  "nothing": null,
  "count": 3,
  "empty": ""
})");

std::string Render(std::string_view text, const json& doc = kDoc) {
  auto t = Template::Parse(text);
  if (!t.ok()) return "PARSE: " + t.error().message();
  auto out = t->Execute(doc);
  if (!out.ok()) return "EXEC: " + out.error().message();
  return *out;
}

TEST(TemplateTest, TextAndFields) {
  EXPECT_EQ(Render("plain text"), "plain text");
  EXPECT_EQ(Render(""), "");
  EXPECT_EQ(Render("{{.State.Pid}}"), "4242");
  EXPECT_EQ(Render("pid={{.State.Pid}} up={{.State.Running}}"), "pid=4242 up=true");
  EXPECT_EQ(Render("{{.NetworkSettings.Networks.web.IPAddress}}"), "10.9.0.2");
  EXPECT_EQ(Render("{{.ratio}} {{.big}}"), "1.5 1000000");
  EXPECT_EQ(Render("{{.}}", json("x")), "x");
  EXPECT_EQ(Render("{{.Config.Cmd}}"), "[sleep 100]");
  EXPECT_EQ(Render("{{.Labels}}"), "map[a-b:dash x:1]");
}

TEST(TemplateTest, CaseAndUnderscoreFallback) {
  EXPECT_EQ(Render("{{.Name}}"), "web1");
  EXPECT_EQ(Render("{{.ExitCode}}"), "0");
  EXPECT_EQ(Render("{{.state.pid}}"), "4242");
  // An exact key wins over a folded one.
  EXPECT_EQ(Render("{{.A}}", json{{"a", 1}, {"A", 2}}), "2");
  EXPECT_EQ(Render("{{.a}}", json{{"a", 1}, {"A", 2}}), "1");
}

TEST(TemplateTest, MissingValues) {
  EXPECT_EQ(Render("{{.Nope}}"), "<no value>");
  EXPECT_EQ(Render("{{.Nope.Deeper}}"), "<no value>");
  EXPECT_EQ(Render("{{.nothing}}"), "<no value>");
  EXPECT_EQ(Render("{{json .Nope}}"), "null");
  EXPECT_EQ(Render("{{print .Nope}}"), "<nil>");
  EXPECT_EQ(Render("{{.name.Length}}"),
            "EXEC: template: 1:3: can't evaluate field Length in type string");
}

TEST(TemplateTest, Json) {
  EXPECT_EQ(Render("{{json .State}}"), R"({"Pid":4242,"Running":true,"Status":"running"})");
  EXPECT_EQ(Render("{{json .Config.Cmd}}"), R"(["sleep","100"])");
  EXPECT_EQ(Render("{{json .name}}"), R"("web1")");
  EXPECT_EQ(Render("{{json \"<&>\"}}"), R"("<&>")");            // no HTML escaping, as docker
  EXPECT_EQ(Render("{{json \"\\xff\"}}"), "\"\xEF\xBF\xBD\"");  // invalid UTF-8 replaced
}

TEST(TemplateTest, Index) {
  EXPECT_EQ(Render("{{index .Labels \"a-b\"}}"), "dash");
  EXPECT_EQ(Render("{{index .Config.Cmd 1}}"), "100");
  EXPECT_EQ(Render("{{index .NetworkSettings.Networks \"web\" \"IPAddress\"}}"), "10.9.0.2");
  EXPECT_EQ(Render("{{index .Labels \"zz\"}}"), "<no value>");
  EXPECT_EQ(Render("{{index .Config.Cmd 5}}"), "EXEC: template: 1:3: index out of range: 5");
  EXPECT_EQ(Render("{{index .name 0}}"), "EXEC: template: 1:3: can't index item of type string");
  EXPECT_EQ(Render("{{index .Nope 0}}"), "EXEC: template: 1:3: index of untyped nil");
  EXPECT_EQ(Render("{{index .Labels 0}}"),
            "EXEC: template: 1:3: index: cannot index a map with int");
}

TEST(TemplateTest, Range) {
  EXPECT_EQ(Render("{{range .Config.Cmd}}<{{.}}>{{end}}"), "<sleep><100>");
  // Objects iterate in key order, as Go sorts map keys.
  EXPECT_EQ(Render("{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}} {{end}}"),
            "db=10.8.0.3 web=10.9.0.2 ");
  EXPECT_EQ(Render("{{range $i, $e := .Config.Cmd}}{{$i}}:{{$e}},{{end}}"), "0:sleep,1:100,");
  EXPECT_EQ(Render("{{range $e := .Config.Cmd}}{{$e}}{{end}}"), "sleep100");
  EXPECT_EQ(Render("{{range .Config.Env}}x{{else}}none{{end}}"), "none");
  EXPECT_EQ(Render("{{range .Nope}}x{{else}}none{{end}}"), "none");
  EXPECT_EQ(Render("{{range .NetworkSettings.Networks}}{{.IPAddress}} {{$.name}};{{end}}"),
            "10.8.0.3 web1;10.9.0.2 web1;");
  EXPECT_EQ(Render("{{range .name}}{{end}}"), "EXEC: template: 1:3: range can't iterate over web1");
}

TEST(TemplateTest, IfElseWith) {
  EXPECT_EQ(Render("{{if .State.Running}}up{{else}}down{{end}}"), "up");
  EXPECT_EQ(Render("{{if .empty}}a{{else if .count}}b{{else}}c{{end}}"), "b");
  EXPECT_EQ(Render("{{if .empty}}a{{else if .nothing}}b{{else}}c{{end}}"), "c");
  EXPECT_EQ(Render("{{if .Config.Env}}a{{end}}"), "");
  EXPECT_EQ(Render("{{with .State}}{{.Pid}}{{end}}"), "4242");
  EXPECT_EQ(Render("{{with .Nope}}x{{else}}y{{end}}"), "y");
  EXPECT_EQ(Render("{{if eq .State.Status \"running\" \"paused\"}}yes{{end}}"), "yes");
  EXPECT_EQ(Render("{{if and .count (not .empty)}}ok{{end}}"), "ok");
  EXPECT_EQ(Render("{{or .empty .name}}"), "web1");
  EXPECT_EQ(Render("{{if and .Nope (index .Nope 0)}}x{{else}}short{{end}}"), "short");
  EXPECT_EQ(Render("{{or .name (index .Nope 0)}}"), "web1");
  EXPECT_EQ(Render("{{if gt .count 2}}big{{end}} {{lt \"a\" \"b\"}} {{ne 1 2}}"), "big true true");
  EXPECT_EQ(Render("{{lt 1 \"a\"}}"), "EXEC: template: 1:3: incompatible types for comparison");
}

TEST(TemplateTest, Variables) {
  EXPECT_EQ(Render("{{$p := .State.Pid}}pid {{$p}}"), "pid 4242");
  EXPECT_EQ(Render("{{$x := 1}}{{$x = 2}}{{$x}}"), "2");
  EXPECT_EQ(Render("{{$.State.Pid}}"), "4242");
  EXPECT_EQ(Render("{{if true}}{{$x := 1}}{{end}}{{$x}}"),
            "EXEC: template: 1:32: undefined variable: $x");
}

TEST(TemplateTest, PrintFunctions) {
  EXPECT_EQ(Render("{{println .name .count}}"), "web1 3\n");
  EXPECT_EQ(Render("{{print .count .count \"s\" .count}}"), "3 3s3");
  EXPECT_EQ(Render("{{printf \"%s has %d (%v) %5.2f|%-6s|%6s|%q %x %%\" .name .count .Config.Cmd "
                   ".ratio \"ab\" \"cd\" .name 255}}"),
            "web1 has 3 ([sleep 100])  1.50|ab    |    cd|\"web1\" ff %");
  EXPECT_EQ(Render("{{printf \"%d\" .name}}"), "%!d(string=web1)");
  EXPECT_EQ(Render("{{printf \"%s %s\" .name}}"), "web1 %!s(MISSING)");
  EXPECT_EQ(Render("{{printf \"%s\" .name 1}}"), "web1%!(EXTRA int=1)");
  EXPECT_EQ(Render("{{printf \"%.2s\" .name}}"), "we");
  EXPECT_EQ(Render("{{printf \"%99999999d\" 1}}"), "%!(BADWIDTH)1");
  EXPECT_EQ(Render("{{printf \"%03d|%+d\" 7 7}}"), "007|+7");
  EXPECT_EQ(Render("{{printf 1}}"), "EXEC: template: 1:3: printf: format must be a string");
}

TEST(TemplateTest, StringFunctions) {
  EXPECT_EQ(Render("{{upper .name}} {{lower \"AbC\"}} {{title \"hello big world\"}}"),
            "WEB1 abc Hello Big World");
  EXPECT_EQ(Render("{{join .Config.Cmd \",\"}}"), "sleep,100");
  EXPECT_EQ(Render("{{join (split \"a:b:c\" \":\") \"-\"}}"), "a-b-c");
  EXPECT_EQ(Render("{{len .Config.Cmd}} {{len .name}} {{len .Labels}}"), "2 4 2");
  EXPECT_EQ(Render("{{len .count}}"), "EXEC: template: 1:3: len of type int");
  EXPECT_EQ(Render("{{json}}"), "EXEC: template: 1:3: wrong number of args for json: want 1 got 0");
}

TEST(TemplateTest, Pipes) {
  EXPECT_EQ(Render("{{.name | upper}}"), "WEB1");
  EXPECT_EQ(Render("{{.count | printf \"%03d\"}}"), "003");
  EXPECT_EQ(Render("{{(index .Config.Cmd 0) | len}}"), "5");
  EXPECT_EQ(Render("{{(.State).Pid}}"), "4242");
  EXPECT_EQ(Render("{{.name | .count}}"),
            "EXEC: template: 1:11: can't give argument to non-function");
}

TEST(TemplateTest, Literals) {
  EXPECT_EQ(Render("{{\"a\\tb\\n\\u00e9\\x41\\101\"}}"),
            "a\tb\n\xC3\xA9"
            "AA");
  EXPECT_EQ(Render("{{`raw \\n }}`}}"), "raw \\n }}");
  EXPECT_EQ(Render("{{\"}}\"}}"), "}}");
  EXPECT_EQ(Render("{{-3}} {{0x10}} {{1.25}} {{1e3}} {{true}}"), "-3 16 1.25 1000 true");
  EXPECT_EQ(Render("{{nil}}"), "EXEC: template: 1:3: nil is not a command");
}

TEST(TemplateTest, TrimMarkersAndComments) {
  EXPECT_EQ(Render("a  \n {{- .name -}} \n  b"), "aweb1b");
  EXPECT_EQ(Render("a {{- /* gone */ -}} b"), "ab");
  EXPECT_EQ(Render("a{{/* gone */}}b"), "ab");
  EXPECT_EQ(Render("{{range .Config.Cmd -}}\n  {{.}}\n{{- end}}"), "sleep100");
}

TEST(TemplateTest, ParseErrors) {
  EXPECT_EQ(Render("{{.name"), "PARSE: template: 1:1: unclosed action");
  EXPECT_EQ(Render("ab\ncd {{foo .x}}"), "PARSE: template: 2:6: function \"foo\" not defined");
  EXPECT_EQ(Render("{{if .x}}a"), "PARSE: template: 1:3: missing {{end}} for {{if}}");
  EXPECT_EQ(Render("{{end}}"), "PARSE: template: 1:3: unexpected {{end}}");
  EXPECT_EQ(Render("{{else}}"), "PARSE: template: 1:3: unexpected {{else}}");
  EXPECT_EQ(Render("{{}}"), "PARSE: template: 1:3: missing value for command");
  EXPECT_EQ(Render("{{.a ]}}"), "PARSE: template: 1:6: unexpected character ']' in action");
  EXPECT_EQ(Render("{{\"abc}}"), "PARSE: template: 1:3: unterminated quoted string");
  EXPECT_EQ(Render("{{(.a}}"), "PARSE: template: 1:6: unclosed left paren");
  EXPECT_EQ(Render("{{/* x }}"), "PARSE: template: 1:3: unclosed comment");
  EXPECT_EQ(Render("{{template \"x\"}}"), "PARSE: template: 1:3: {{template}} is not supported");
  EXPECT_EQ(Render("{{1.2.3}}"), "PARSE: template: 1:3: bad number syntax: 1.2.3");
  EXPECT_EQ(Render("{{\"\\q\"}}"), "PARSE: template: 1:4: bad escape in string");
  EXPECT_EQ(Render("{{if 1}}{{else}}{{else}}{{end}}"),
            "PARSE: template: 1:19: {{else}} after {{else}}");
  EXPECT_EQ(Render(std::string(200, '(')), std::string(200, '('));  // text, not an action
  EXPECT_EQ(Render("{{" + std::string(200, '(') + "}}"),
            "PARSE: template: 1:102: parentheses nested too deeply");
}

TEST(TemplateTest, Limits) {
  json doc = {{"l", json::array({1, 2, 3, 4, 5, 6, 7, 8, 9, 10})}};
  std::string deep;
  for (int i = 0; i < 8; ++i) deep += "{{range $.l}}";
  for (int i = 0; i < 8; ++i) deep += "{{end}}";
  EXPECT_NE(Render(deep, doc).find("template does too much work"), std::string::npos);
  EXPECT_NE(Render("{{range $.l}}{{range $.l}}{{range $.l}}{{printf \"%999999s\" \"\"}}{{end}}"
                   "{{end}}{{end}}",
                   doc)
                .find("output too large"),
            std::string::npos);
}

TEST(TemplateTest, HeaderDocument) {
  auto t = Template::Parse("{{.ID}}\t{{.State.Status}}\t{{json .Names}}");
  ASSERT_TRUE(t.ok());
  json h = t->HeaderDocument([](const std::string& f) { return f == "ID" ? "CONTAINER ID" : f; });
  EXPECT_EQ(*t->Execute(h), "CONTAINER ID\tStatus\t\"Names\"");
}

TEST(TemplateTest, ListFormat) {
  auto f = ParseListFormat("table {{.a}}\\t{{.b}}");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->table);
  EXPECT_EQ(*f->row.Execute({{"a", 1}, {"b", 2}}), "1\t2");
  f = ParseListFormat("{{.a}}\\n");
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->table);
  EXPECT_EQ(*f->row.Execute({{"a", 1}}), "1\n");
  EXPECT_FALSE(ParseListFormat("table {{.a").ok());
}

TEST(TemplateTest, AlignColumns) {
  EXPECT_EQ(AlignColumns("NAME\tSTATUS\nweb-server-1\trunning\n"),
            "NAME           STATUS\n"
            "web-server-1   running\n");
  EXPECT_EQ(AlignColumns("a\tb\tc\n"), "a         b         c\n");
  EXPECT_EQ(AlignColumns("no tabs"), "no tabs");
  EXPECT_EQ(AlignColumns(""), "");
}

}  // namespace
}  // namespace berth::tmpl
