// A shared library that is not a metarl plug-in: it exports a function, but no
// metarl_plugin_* entry point. The loader must say so rather than crash.

extern "C" __attribute__((visibility("default"))) int add_two(int x) { return x + 2; }
