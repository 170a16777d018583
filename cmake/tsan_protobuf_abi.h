// Force-included into every translation unit of a ThreadSanitizer build (CMakeLists.txt, STEPFLOW_TSAN).
//
// Debian's libprotobuf is built without -fsanitize=thread, but protobuf 3.21's map_field.h gives
// MapFieldBase two extra members when __SANITIZE_THREAD__ is defined. A TSan-built file would then lay out
// every map field (google::protobuf::Struct's `fields`, which the REST handlers build) differently from the
// library that constructs it, and its first insertion reads garbage (a SEGV in Map::FindHelper, seen in
// RestTest under TSan). Including protobuf's headers here first, with the macro hidden, gives our code the
// library's layout; their include guards keep every later include on it.
#pragma once
#pragma push_macro("__SANITIZE_THREAD__")
#undef __SANITIZE_THREAD__
#include <google/protobuf/map_field.h>
#include <google/protobuf/struct.pb.h>
#pragma pop_macro("__SANITIZE_THREAD__")
