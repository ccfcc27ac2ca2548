/* An XML-RPC client on xmlrpc-c's client library (Debian's
 * libxmlrpc-core-c3), standing in for xmlrpc-c's `xmlrpc` command, which
 * Debian 12 does not ship (xmlrpc-api-utils has only xml-rpc-api2*).
 *
 *   xmlrpc_c_client URL METHOD ARG...
 *
 * ARGs use the `xmlrpc` command's typed syntax: i/N (int), I/N (i8), d/X,
 * b/true|false, s/TEXT, n/ (nil), h/HEX (base64 from hex), plus dt/TEXT
 * (dateTime) and json/TEXT (arrays and structs, xmlrpc-c's JSON parser).
 * The result is printed with its types: "i8:9999999999", "base64:00ff",
 * "array[int:1,string:x]", "struct{a:int:1}"; a fault prints
 * "fault CODE: STRING" and exits 7; a transport error exits 1.
 */
#include <xmlrpc-c/base.h>
#include <xmlrpc-c/client.h>
#include <xmlrpc-c/json.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(xmlrpc_env* env, const char* what) {
  if (!env->fault_occurred) return;
  fprintf(stderr, "xmlrpc_c_client: %s: %s\n", what, env->fault_string);
  exit(2);
}

static xmlrpc_value* argument(xmlrpc_env* env, const char* word) {
  const char* rest = strchr(word, '/');
  if (!rest) return xmlrpc_string_new(env, word);
  ++rest;
  if (!strncmp(word, "i/", 2)) return xmlrpc_int_new(env, atoi(rest));
  if (!strncmp(word, "I/", 2)) return xmlrpc_i8_new(env, strtoll(rest, NULL, 10));
  if (!strncmp(word, "d/", 2)) return xmlrpc_double_new(env, strtod(rest, NULL));
  if (!strncmp(word, "b/", 2)) return xmlrpc_bool_new(env, !strcmp(rest, "true"));
  if (!strncmp(word, "s/", 2)) return xmlrpc_string_new(env, rest);
  if (!strncmp(word, "n/", 2)) return xmlrpc_nil_new(env);
  if (!strncmp(word, "dt/", 3)) return xmlrpc_datetime_new_str(env, rest);
  if (!strncmp(word, "json/", 5)) return xmlrpc_parse_json(env, rest);
  if (!strncmp(word, "h/", 2)) {
    size_t n = strlen(rest) / 2;
    unsigned char* bytes = malloc(n + 1);
    for (size_t i = 0; i < n; ++i) sscanf(rest + 2 * i, "%2hhx", &bytes[i]);
    xmlrpc_value* v = xmlrpc_base64_new(env, n, bytes);
    free(bytes);
    return v;
  }
  return xmlrpc_string_new(env, word);
}

static void print_value(xmlrpc_env* env, xmlrpc_value* v) {
  switch (xmlrpc_value_type(v)) {
    case XMLRPC_TYPE_INT: {
      int i;
      xmlrpc_read_int(env, v, &i);
      printf("int:%d", i);
      break;
    }
    case XMLRPC_TYPE_I8: {
      xmlrpc_int64 i;
      xmlrpc_read_i8(env, v, &i);
      printf("i8:%lld", (long long)i);
      break;
    }
    case XMLRPC_TYPE_BOOL: {
      xmlrpc_bool b;
      xmlrpc_read_bool(env, v, &b);
      printf("bool:%s", b ? "true" : "false");
      break;
    }
    case XMLRPC_TYPE_DOUBLE: {
      double d;
      xmlrpc_read_double(env, v, &d);
      printf("double:%g", d);
      break;
    }
    case XMLRPC_TYPE_DATETIME: {
      const char* s;
      xmlrpc_read_datetime_str(env, v, &s);
      printf("datetime:%s", s);
      free((void*)s);
      break;
    }
    case XMLRPC_TYPE_STRING: {
      const char* s;
      xmlrpc_read_string(env, v, &s);
      printf("string:%s", s);
      free((void*)s);
      break;
    }
    case XMLRPC_TYPE_BASE64: {
      size_t n;
      const unsigned char* bytes;
      xmlrpc_read_base64(env, v, &n, &bytes);
      printf("base64:");
      for (size_t i = 0; i < n; ++i) printf("%02x", bytes[i]);
      free((void*)bytes);
      break;
    }
    case XMLRPC_TYPE_NIL: printf("nil"); break;
    case XMLRPC_TYPE_ARRAY: {
      printf("array[");
      for (int i = 0; i < xmlrpc_array_size(env, v); ++i) {
        xmlrpc_value* item;
        xmlrpc_array_read_item(env, v, (unsigned)i, &item);
        if (i) printf(",");
        print_value(env, item);
        xmlrpc_DECREF(item);
      }
      printf("]");
      break;
    }
    case XMLRPC_TYPE_STRUCT: {
      printf("struct{");
      for (int i = 0; i < xmlrpc_struct_size(env, v); ++i) {
        xmlrpc_value *key, *item;
        xmlrpc_struct_read_member(env, v, (unsigned)i, &key, &item);
        const char* name;
        xmlrpc_read_string(env, key, &name);
        printf("%s%s:", i ? "," : "", name);
        print_value(env, item);
        free((void*)name);
        xmlrpc_DECREF(key);
        xmlrpc_DECREF(item);
      }
      printf("}");
      break;
    }
    default: printf("other"); break;
  }
  check(env, "reading the result");
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: xmlrpc_c_client URL METHOD ARG...\n");
    return 2;
  }
  xmlrpc_env env;
  xmlrpc_env_init(&env);
  xmlrpc_client_init2(&env, XMLRPC_CLIENT_NO_FLAGS, "nettool-test", "1.0", NULL, 0);
  check(&env, "init");
  xmlrpc_value* params = xmlrpc_array_new(&env);
  for (int i = 3; i < argc; ++i) {
    xmlrpc_value* v = argument(&env, argv[i]);
    check(&env, argv[i]);
    xmlrpc_array_append_item(&env, params, v);
    xmlrpc_DECREF(v);
  }
  xmlrpc_value* result = xmlrpc_client_call_params(&env, argv[1], argv[2], params);
  if (env.fault_occurred) {
    printf("fault %d: %s\n", env.fault_code, env.fault_string);
    return 7;
  }
  print_value(&env, result);
  printf("\n");
  xmlrpc_DECREF(result);
  xmlrpc_DECREF(params);
  xmlrpc_client_cleanup();
  return 0;
}
