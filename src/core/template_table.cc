// docker's list formats: the "table" prefix, typed escapes, and tabwriter's alignment.
#include <algorithm>

#include "core/template.h"

namespace berth::tmpl {

Result<ListFormat> ParseListFormat(std::string_view format) {
  ListFormat f;
  std::string_view body = format;
  if (body.starts_with("table")) {
    f.table = true;
    body.remove_prefix(5);
  }
  while (!body.empty() && body.front() == ' ') body.remove_prefix(1);
  while (!body.empty() && body.back() == ' ') body.remove_suffix(1);
  // Shells pass '\t' as two characters; docker reads them as a tab (and '\n' as a newline).
  std::string text;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\\' && i + 1 < body.size() && (body[i + 1] == 't' || body[i + 1] == 'n')) {
      text += body[++i] == 't' ? '\t' : '\n';
    } else {
      text += body[i];
    }
  }
  BERTH_ASSIGN_OR_RETURN(f.row, Template::Parse(text));
  return f;
}

std::string AlignColumns(std::string_view text) {
  // tabwriter.NewWriter(out, 10, 1, 3, ' ', 0) as docker's formatter makes it.
  constexpr size_t kMinWidth = 10, kPadding = 3;
  std::vector<std::vector<std::string_view>> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    std::string_view line = text.substr(start, end == std::string_view::npos ? end : end - start);
    std::vector<std::string_view> cells;
    size_t from = 0;
    for (size_t tab; (tab = line.find('\t', from)) != std::string_view::npos; from = tab + 1) {
      cells.push_back(line.substr(from, tab - from));
    }
    cells.push_back(line.substr(from));
    lines.push_back(std::move(cells));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  std::vector<size_t> width;
  for (const auto& cells : lines) {
    for (size_t i = 0; i + 1 < cells.size(); ++i) {  // the last cell is not in a column
      if (width.size() <= i) width.resize(i + 1, kMinWidth);
      width[i] = std::max(width[i], cells[i].size() + kPadding);
    }
  }
  std::string out;
  for (const auto& cells : lines) {
    for (size_t i = 0; i < cells.size(); ++i) {
      out += cells[i];
      if (i + 1 < cells.size()) out += std::string(width[i] - cells[i].size(), ' ');
    }
    out += '\n';
  }
  if (!text.empty() && text.back() != '\n') out.pop_back();
  return out;
}

}  // namespace berth::tmpl
