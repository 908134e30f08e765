# pbc_optional.cmake - owns: the protobuf-c view of our .proto files.
# protoc-c 1.4.1 (Debian 12) does not declare proto3 `optional` support, and protoc then
# refuses to run it. protoc itself lowers `optional T x = N;` to a one-member oneof
# named `_x`; this script writes that lowering out explicitly. The wire format is the
# same (same number, same type, presence is "field present"), so the protobuf-c decoder
# still independently checks what nanopb encodes; presence reads as x_case == ..._X.
# Usage: cmake -DIN=src.proto -DOUT=dst.proto -P pbc_optional.cmake
file(READ "${IN}" text)
string(REGEX REPLACE "([\n \t])optional[ \t]+([A-Za-z0-9_.]+)[ \t]+([A-Za-z0-9_]+)[ \t]*=[ \t]*([0-9]+)[ \t]*;"
       "\\1oneof _\\3 { \\2 \\3 = \\4; }" text "${text}")
if(text MATCHES "[\n \t]optional[ \t]")
  message(FATAL_ERROR "${IN}: an `optional` field was not lowered (unexpected syntax)")
endif()
file(WRITE "${OUT}" "${text}")
