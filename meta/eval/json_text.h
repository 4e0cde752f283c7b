#pragma once
// JSON text pieces shared by the reports that metarl writes by hand (the evaluation's
// step and rounds reports): a quoted string, a number, an array. Hand-written because
// the reports' key order and number format are part of what the docs show.

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace metarl::meta::json_text {

inline std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// Six significant digits; null for NaN and infinities, which JSON lacks.
inline std::string number(double value) {
  if (!std::isfinite(value)) return "null";
  char text[32];
  std::snprintf(text, sizeof(text), "%.6g", value);
  return text;
}

template <typename T, typename Format>
std::string array(const std::vector<T>& values, Format format) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + format(values[i]);
  return out + "]";
}

}  // namespace metarl::meta::json_text
