// multipart/form-data bodies from curl-style -F fields (RFC 7578).
#pragma once

#include "nettool/http/client.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace nettool::http {

struct form_field {
  std::string name;
  std::string value;      // text value
  std::string file;       // set: the part's content comes from this file
  bool upload = false;    // @FILE: sent as a file (filename, type); <FILE: as a text value
  std::string filename;   // ;filename=
  std::string type;       // ;type=
};

// name=value, name=@FILE[;type=T][;filename=N], name=<FILE; throws
// errc::usage naming -F otherwise.
form_field parse_form_field(std::string_view spec);

// The parts in order, files left on disk to be streamed; `boundary` must
// not occur in any part (a random one makes that overwhelmingly likely).
body_source multipart_body(const std::vector<form_field>& fields, const std::string& boundary);
std::string random_boundary();

}  // namespace nettool::http
