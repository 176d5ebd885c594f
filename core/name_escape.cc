#include "name_escape.h"

#include <cstdio>

namespace lpc {

namespace {

// The length of the well-formed UTF-8 character at the start of `s`
// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF),
// or 0.
size_t Utf8Length(std::string_view s) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char b = byte(0);
  size_t n;
  unsigned char lo = 0x80, hi = 0xbf;  // the bounds of the second byte
  if (b >= 0xc2 && b <= 0xdf) {
    n = 2;
  } else if (b >= 0xe0 && b <= 0xef) {
    n = 3;
    if (b == 0xe0) lo = 0xa0;
    if (b == 0xed) hi = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    n = 4;
    if (b == 0xf0) lo = 0x90;
    if (b == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (s.size() < n) return 0;
  if (byte(1) < lo || byte(1) > hi) return 0;
  for (size_t i = 2; i < n; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
  }
  return n;
}

void AppendOctal(unsigned char c, std::string& out) {
  char buf[5];
  std::snprintf(buf, sizeof buf, "\\%03o", c);
  out += buf;
}

}  // namespace

void AppendEscapedName(std::string_view name, std::string& out) {
  while (!name.empty()) {
    unsigned char c = static_cast<unsigned char>(name[0]);
    size_t take = 1;
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\v':
        out += "\\v";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          AppendOctal(c, out);
        } else if (c < 0x80) {
          out += static_cast<char>(c);
        } else if (size_t n = Utf8Length(name); n == 0) {
          AppendOctal(c, out);
        } else if (c == 0xc2 && static_cast<unsigned char>(name[1]) < 0xa0) {
          // U+0080 to U+009F: the C1 controls, which some terminals obey.
          AppendOctal(c, out);
          AppendOctal(static_cast<unsigned char>(name[1]), out);
          take = 2;
        } else {
          out.append(name.substr(0, n));
          take = n;
        }
    }
    name.remove_prefix(take);
  }
}

std::string EscapeName(std::string_view name) {
  std::string out;
  AppendEscapedName(name, out);
  return out;
}

std::string UnescapeName(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  auto octal = [](char c) { return c >= '0' && c <= '7'; };
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c != '\\' || i + 1 == in.size()) {
      out += c;
      continue;
    }
    char e = in[i + 1];
    char named = 0;
    switch (e) {
      case '\\':
        named = '\\';
        break;
      case 'a':
        named = '\a';
        break;
      case 'b':
        named = '\b';
        break;
      case 't':
        named = '\t';
        break;
      case 'n':
        named = '\n';
        break;
      case 'v':
        named = '\v';
        break;
      case 'f':
        named = '\f';
        break;
      case 'r':
        named = '\r';
        break;
    }
    if (named) {
      out += named;
      ++i;
    } else if (i + 3 < in.size() && octal(e) && e <= '3' && octal(in[i + 2]) &&
               octal(in[i + 3])) {
      out += static_cast<char>((e - '0') * 64 + (in[i + 2] - '0') * 8 +
                               (in[i + 3] - '0'));
      i += 3;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace lpc
