// `--format TEMPLATE` (Go template syntax, core/template.h) for inspect and the list verbs.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"

namespace berth::cli {

/// Whether a --format value is a template rather than "table"/"json".
bool IsTemplate(const std::string& format);

/// Checks a template format at parse time; returns the error text ("" when fine).
std::string CheckTemplate(const std::string& format);

/// `inspect`/`network inspect`: without a template, render.h's PrintInspected. With one, each
/// document seen through `view` (docker_view.h) and printed through the template, followed by
/// a newline (docker inspect -f). Names that fail are reported; exit status 1 if any did.
int PrintInspectedFormat(const std::string& format, nlohmann::json (*view)(nlohmann::json),
                         const std::vector<std::string>& names,
                         const std::function<Result<nlohmann::json>(const std::string&)>& inspect);

/// How a list verb shows its rows to a template: the row document and the header names.
struct ListView {
  nlohmann::json (*row)(nlohmann::json);
  std::string (*header)(const std::string& field);
};
extern const ListView kPsView;
extern const ListView kNetworkLsView;

/// `ps`/`network ls --format`: each of `docs` (berth's JSON documents) as `view` shows it,
/// through the template, one line each; "table ..." adds a header row and aligns columns.
int PrintListFormat(const std::string& format, const ListView& view, const nlohmann::json& docs);

}  // namespace berth::cli
