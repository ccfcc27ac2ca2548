#include "../../../src/http/mime.hpp"
#include "../../../src/http/multipart.hpp"

#include "nettool/core/error.hpp"

#include <catch2/catch.hpp>

using namespace nettool::http;

TEST_CASE("media types by extension", "[http][mime]") {
  CHECK(mime_type_for("index.html") == "text/html; charset=utf-8");
  CHECK(mime_type_for("/a/b/photo.JPG") == "image/jpeg");
  CHECK(mime_type_for("x.7z") == "application/x-7z-compressed");  // first in the table
  CHECK(mime_type_for("x.zip") == "application/zip");              // last
  CHECK(mime_type_for("app.wasm") == "application/wasm");
  CHECK(mime_type_for("README") == "application/octet-stream");
  CHECK(mime_type_for("dir.d/file") == "application/octet-stream");
  CHECK(mime_type_for("trailing.") == "application/octet-stream");
}

TEST_CASE("form fields for -F, as curl writes them", "[http][form]") {
  auto text = parse_form_field("note=hello=world");
  CHECK(text.name == "note");
  CHECK(text.value == "hello=world");
  CHECK(text.file.empty());
  auto upload = parse_form_field("f=@dir/a.png;type=image/x-test;filename=b.png");
  CHECK(upload.upload);
  CHECK(upload.file == "dir/a.png");
  CHECK(upload.type == "image/x-test");
  CHECK(upload.filename == "b.png");
  auto guessed = parse_form_field("f=@dir/a.png");
  CHECK(guessed.filename == "a.png");
  CHECK(guessed.type == "image/png");
  auto inline_file = parse_form_field("t=<notes.txt");
  CHECK_FALSE(inline_file.upload);
  CHECK(inline_file.file == "notes.txt");
  CHECK(inline_file.filename.empty());
  CHECK(parse_form_field("empty=").value.empty());
  CHECK_THROWS_AS(parse_form_field("novalue"), nettool::core::error);
  CHECK_THROWS_AS(parse_form_field("=x"), nettool::core::error);
  CHECK_THROWS_AS(parse_form_field("f=@"), nettool::core::error);
  CHECK_THROWS_AS(parse_form_field("f=@a;size=3"), nettool::core::error);
}

TEST_CASE("multipart body layout", "[http][form]") {
  const auto body = multipart_body({parse_form_field("a=1"), parse_form_field("q=x\"y")}, "BOUND");
  std::string all;
  for (const auto& piece : body.pieces) all += piece.bytes;
  CHECK(all ==
        "--BOUND\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
        "--BOUND\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\nx\"y\r\n"
        "--BOUND--\r\n");
  CHECK(body.size() == all.size());
  CHECK(random_boundary().size() == 48);
}
