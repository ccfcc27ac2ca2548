# Every library comes from Debian 12's packages (scripts/install-deps.sh).
find_package(Threads REQUIRED)
# Static Boost libraries: fewer shared objects to load at every start.
set(Boost_USE_STATIC_LIBS ON)
find_package(Boost 1.81.0 EXACT REQUIRED COMPONENTS url json CONFIG)
find_package(OpenSSL 3 REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(fmt CONFIG REQUIRED)
# zlib for --compressed, linked statically: no extra library to load at start.
set(ZLIB_USE_STATIC_LIBS ON)
find_package(ZLIB REQUIRED)
# ZeroMQ (libzmq through header-only cppzmq): linked into nettool-zmq.so only.
find_package(cppzmq CONFIG REQUIRED)
# pugixml for XML-RPC bodies: linked into nettool-xmlrpc.so only.
find_package(pugixml CONFIG REQUIRED)
# gRPC and protobuf (grpc++'s callback API, dynamic messages): linked into
# nettool-grpc.so only; grpc++ alone costs several ms of start-up.
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
# gRPC's targets name ZLIB::ZLIB, which is the static libz.a chosen above:
# a shared module cannot take it in, and libgrpc.so needs no copy (it links
# libz.so.1 itself). Only the binary's own zlib users keep ZLIB::ZLIB.
foreach(target gRPC::grpc gRPC::grpc_unsecure)
  if(TARGET ${target})
    get_target_property(libs ${target} INTERFACE_LINK_LIBRARIES)
    list(REMOVE_ITEM libs ZLIB::ZLIB)
    set_target_properties(${target} PROPERTIES INTERFACE_LINK_LIBRARIES "${libs}")
  endif()
endforeach()
if(NETTOOL_TESTS)
  find_package(Catch2 2 CONFIG REQUIRED)
endif()
