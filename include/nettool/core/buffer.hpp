#pragma once
// A read buffer whose memory is left uninitialised.
//
// A zero-filled std::vector<char> touches every page up front: two 256 KiB
// pump buffers cost 128 page faults, which is most of a one-byte connection's
// run time on a machine where faults are slow. Left uninitialised, the kernel
// maps only the pages a read actually fills.
#include <boost/asio/buffer.hpp>

#include <cstddef>
#include <memory>

namespace nettool::core {

class io_buffer {
 public:
  explicit io_buffer(std::size_t size) : data_(std::make_unique_for_overwrite<char[]>(size)), size_(size) {}

  char* data() { return data_.get(); }
  std::size_t size() const { return size_; }
  // The whole buffer, to read into.
  boost::asio::mutable_buffer space() { return {data_.get(), size_}; }
  // The first n bytes, to write out what was read.
  boost::asio::const_buffer first(std::size_t n) const { return {data_.get(), n}; }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t size_;
};

}  // namespace nettool::core
