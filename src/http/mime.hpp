// Media types by file extension, for `-F name=@FILE` and `http serve`.
#pragma once

#include <string_view>

namespace nettool::http {

// "text/html; charset=utf-8" for index.html; application/octet-stream for
// an extension not in the table. Case-insensitive.
std::string_view mime_type_for(std::string_view path);

}  // namespace nettool::http
