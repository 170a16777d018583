// The Map state: processor, items, concurrency and tolerance, Label, and the distributed-mode blocks
// (ItemReader, ItemBatcher, ResultWriter).

#include <cstdint>
#include <limits>

#include "statemachine/validator_internal.h"

namespace stepflow::sm::validator_internal {
namespace {

constexpr int64_t kMaxInt = std::numeric_limits<int32_t>::max();
constexpr size_t kMaxLabelLength = 40;
constexpr std::string_view kLabelForbidden = " ?*<>{}[]:;,\\|^~$#%&`\"";

// Reports when `object[field]` is present and not one of `allowed`.
void EnumField(const json::object& object, std::string_view field, const std::string& location,
               std::initializer_list<std::string_view> allowed, bool required, Validation& v) {
  std::optional<std::string_view> value = StringField(object, field, location, required, v);
  if (!value) {
    return;
  }
  for (std::string_view ok : allowed) {
    if (*value == ok) {
      return;
    }
  }
  std::string choices = Join(std::vector<std::string_view>(allowed), ", ");
  v.Schema(Child(location, field),
           Cat("The field '", field, "' must be one of [", choices, "], not '", *value, "'"));
}

// Returns the object at `object[field]` (null when absent), reporting a non-object.
const json::object* ObjectField(const json::object& object, std::string_view field,
                                const std::string& location, Validation& v) {
  const json::value* value = object.if_contains(field);
  if (value == nullptr) {
    return nullptr;
  }
  if (!value->is_object()) {
    v.Schema(Child(location, field),
             Cat("The field '", field, "' must be an object, not ", TypeName(*value)));
    return nullptr;
  }
  return &value->get_object();
}

void CheckProcessorConfig(const json::object& processor, const std::string& location, QueryLanguage language,
                          Validation& v) {
  const json::object* config = ObjectField(processor, "ProcessorConfig", location, v);
  if (config == nullptr) {
    return;
  }
  std::string at = Child(location, "ProcessorConfig");
  CheckFields(*config, at, {{"Mode", Lang::kBoth}, {"ExecutionType", Lang::kBoth}}, language,
              "ProcessorConfig", v);
  EnumField(*config, "Mode", at, {"INLINE", "DISTRIBUTED"}, false, v);
  EnumField(*config, "ExecutionType", at, {"STANDARD", "EXPRESS"}, false, v);
  const json::value* mode = config->if_contains("Mode");
  if (mode != nullptr && mode->is_string() && mode->get_string() == "DISTRIBUTED" &&
      !config->contains("ExecutionType")) {
    v.Schema(at, "The field 'ExecutionType' is required when 'Mode' is DISTRIBUTED");
  }
}

void CheckLabel(const json::object& state, const std::string& location, Validation& v) {
  std::optional<std::string_view> label = StringField(state, "Label", location, false, v);
  if (!label) {
    return;
  }
  std::string at = Child(location, "Label");
  if (label->empty()) {
    v.Schema(at, "Label cannot be empty");
    return;
  }
  if (CodePointCount(*label) > kMaxLabelLength) {
    v.Schema(at, Cat("Label cannot exceed ", kMaxLabelLength, " characters"));
  }
  for (size_t i = 0; i < label->size(); ++i) {
    unsigned char c = static_cast<unsigned char>((*label)[i]);
    // U+0080..U+009F are encoded as 0xC2 0x80..0x9F in UTF-8.
    bool c1_control = c == 0xC2 && i + 1 < label->size() &&
                      static_cast<unsigned char>((*label)[i + 1]) >= 0x80 &&
                      static_cast<unsigned char>((*label)[i + 1]) <= 0x9F;
    if (c < 0x20 || c == 0x7F || c1_control || kLabelForbidden.find(c) != std::string_view::npos) {
      v.Schema(at, Cat("Label contains invalid character at byte offset ", i));
      return;
    }
  }
}

void CheckTolerance(const json::object& state, const std::string& location, QueryLanguage language,
                    Validation& v) {
  ExclusiveFields(state, {"MaxConcurrency", "MaxConcurrencyPath"}, location, false, v);
  ExclusiveFields(state, {"ToleratedFailureCount", "ToleratedFailureCountPath"}, location, false, v);
  ExclusiveFields(state, {"ToleratedFailurePercentage", "ToleratedFailurePercentagePath"}, location, false,
                  v);
  IntegerField(state, "MaxConcurrency", location, 0, kMaxInt, language, v);
  IntegerField(state, "ToleratedFailureCount", location, 0, kMaxInt, language, v);
  PathField(state, "MaxConcurrencyPath", location, PathKind::kReference, false, v);
  PathField(state, "ToleratedFailureCountPath", location, PathKind::kReference, false, v);
  PathField(state, "ToleratedFailurePercentagePath", location, PathKind::kReference, false, v);
  const json::value* percentage = state.if_contains("ToleratedFailurePercentage");
  if (percentage == nullptr || (language == QueryLanguage::kJsonata && IsJsonataExpression(*percentage))) {
    return;
  }
  if (!percentage->is_number() || percentage->to_number<double>() < 0 ||
      percentage->to_number<double>() > 100) {
    v.Schema(Child(location, "ToleratedFailurePercentage"),
             "The field 'ToleratedFailurePercentage' must be a number between 0 and 100");
  }
}

// Resource + Parameters (JSONPath) / Arguments (JSONata), shared by ItemReader and ResultWriter.
void CheckResourceBlock(const json::object& block, const std::string& at, QueryLanguage language,
                        Validation& v) {
  StringField(block, "Resource", at, true, v);
  TemplateField(block, "Parameters", at, language, v);
}

void CheckItemReader(const json::object& state, const std::string& location, QueryLanguage language,
                     Validation& v) {
  const json::object* reader = ObjectField(state, "ItemReader", location, v);
  if (reader == nullptr) {
    return;
  }
  std::string at = Child(location, "ItemReader");
  CheckFields(*reader, at,
              {{"Resource", Lang::kBoth},
               {"Parameters", Lang::kJsonPathOnly},
               {"Arguments", Lang::kJsonataOnly},
               {"ReaderConfig", Lang::kBoth}},
              language, "ItemReader", v);
  CheckResourceBlock(*reader, at, language, v);
  const json::object* config = ObjectField(*reader, "ReaderConfig", at, v);
  if (config == nullptr) {
    return;
  }
  std::string config_at = Child(at, "ReaderConfig");
  CheckFields(*config, config_at,
              {{"InputType", Lang::kBoth},
               {"CSVHeaderLocation", Lang::kBoth},
               {"CSVHeaders", Lang::kBoth},
               {"CSVDelimiter", Lang::kBoth},
               {"MaxItems", Lang::kBoth},
               {"MaxItemsPath", Lang::kJsonPathOnly},
               {"ItemsPointer", Lang::kBoth},
               {"ManifestType", Lang::kBoth}},
              language, "ReaderConfig", v);
  EnumField(*config, "InputType", config_at, {"CSV", "JSON", "JSONL", "PARQUET", "MANIFEST"}, false, v);
  EnumField(*config, "CSVHeaderLocation", config_at, {"FIRST_ROW", "GIVEN"}, false, v);
  ExclusiveFields(*config, {"MaxItems", "MaxItemsPath"}, config_at, false, v);
  IntegerField(*config, "MaxItems", config_at, 0, kMaxInt, language, v);
  PathField(*config, "MaxItemsPath", config_at, PathKind::kReference, false, v);
}

void CheckItemBatcher(const json::object& state, const std::string& location, QueryLanguage language,
                      Validation& v) {
  const json::object* batcher = ObjectField(state, "ItemBatcher", location, v);
  if (batcher == nullptr) {
    return;
  }
  std::string at = Child(location, "ItemBatcher");
  CheckFields(*batcher, at,
              {{"MaxItemsPerBatch", Lang::kBoth},
               {"MaxItemsPerBatchPath", Lang::kJsonPathOnly},
               {"MaxInputBytesPerBatch", Lang::kBoth},
               {"MaxInputBytesPerBatchPath", Lang::kJsonPathOnly},
               {"BatchInput", Lang::kBoth}},
              language, "ItemBatcher", v);
  ExclusiveFields(*batcher, {"MaxItemsPerBatch", "MaxItemsPerBatchPath"}, at, false, v);
  ExclusiveFields(*batcher, {"MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath"}, at, false, v);
  IntegerField(*batcher, "MaxItemsPerBatch", at, 1, kMaxInt, language, v);
  IntegerField(*batcher, "MaxInputBytesPerBatch", at, 1, kMaxInt, language, v);
  PathField(*batcher, "MaxItemsPerBatchPath", at, PathKind::kReference, false, v);
  PathField(*batcher, "MaxInputBytesPerBatchPath", at, PathKind::kReference, false, v);
  TemplateField(*batcher, "BatchInput", at, language, v);
}

void CheckResultWriter(const json::object& state, const std::string& location, QueryLanguage language,
                       Validation& v) {
  const json::object* writer = ObjectField(state, "ResultWriter", location, v);
  if (writer == nullptr) {
    return;
  }
  std::string at = Child(location, "ResultWriter");
  CheckFields(*writer, at,
              {{"Resource", Lang::kBoth},
               {"Parameters", Lang::kJsonPathOnly},
               {"Arguments", Lang::kJsonataOnly},
               {"WriterConfig", Lang::kBoth}},
              language, "ResultWriter", v);
  if (writer->contains("Resource") || !writer->contains("WriterConfig")) {
    CheckResourceBlock(*writer, at, language, v);
  }
  const json::object* config = ObjectField(*writer, "WriterConfig", at, v);
  if (config == nullptr) {
    return;
  }
  std::string config_at = Child(at, "WriterConfig");
  CheckFields(*config, config_at, {{"OutputType", Lang::kBoth}, {"Transformation", Lang::kBoth}}, language,
              "WriterConfig", v);
  EnumField(*config, "OutputType", config_at, {"JSON", "JSONL"}, false, v);
  EnumField(*config, "Transformation", config_at, {"NONE", "COMPACT", "FLATTEN"}, false, v);
}

void CheckItems(const json::object& state, const std::string& location, QueryLanguage language,
                Validation& v) {
  PathField(state, "ItemsPath", location, PathKind::kReference, false, v);
  TemplateField(state, "ItemSelector", location, language, v);
  ExclusiveFields(state, {"ItemSelector", "Parameters"}, location, false, v);
  const json::value* items = state.if_contains("Items");
  if (items != nullptr && language == QueryLanguage::kJsonata && !items->is_array() &&
      !IsJsonataExpression(*items)) {
    v.Schema(Child(location, "Items"),
             "The field 'Items' must be an array or a JSONata expression '{% ... %}'");
  }
}

void CheckProcessor(const json::object& state, const std::string& location, QueryLanguage language, int depth,
                    Validation& v) {
  ExclusiveFields(state, {"ItemProcessor", "Iterator"}, location, true, v);
  for (std::string_view field : {"ItemProcessor", "Iterator"}) {
    const json::value* processor = state.if_contains(field);
    if (processor == nullptr) {
      continue;
    }
    std::string at = Child(location, field);
    if (const json::object* object = processor->if_object()) {
      CheckProcessorConfig(*object, at, language, v);
    }
    ValidateMachine(*processor, at, MachineKind::kItemProcessor, depth + 1, v);
  }
}

}  // namespace

void ValidateMapState(const json::object& state, const std::string& location, QueryLanguage language,
                      int depth, Validation& v) {
  CheckFields(state, location,
              {{"Type", Lang::kBoth},
               {"Comment", Lang::kBoth},
               {"QueryLanguage", Lang::kBoth},
               {"Next", Lang::kBoth},
               {"End", Lang::kBoth},
               {"ItemProcessor", Lang::kBoth},
               {"Iterator", Lang::kBoth},
               {"ItemsPath", Lang::kJsonPathOnly},
               {"Items", Lang::kJsonataOnly},
               {"ItemSelector", Lang::kBoth},
               {"Parameters", Lang::kJsonPathOnly},
               {"InputPath", Lang::kJsonPathOnly},
               {"OutputPath", Lang::kJsonPathOnly},
               {"ResultSelector", Lang::kJsonPathOnly},
               {"ResultPath", Lang::kJsonPathOnly},
               {"Output", Lang::kJsonataOnly},
               {"Assign", Lang::kBoth},
               {"Retry", Lang::kBoth},
               {"Catch", Lang::kBoth},
               {"MaxConcurrency", Lang::kBoth},
               {"MaxConcurrencyPath", Lang::kJsonPathOnly},
               {"ToleratedFailureCount", Lang::kBoth},
               {"ToleratedFailureCountPath", Lang::kJsonPathOnly},
               {"ToleratedFailurePercentage", Lang::kBoth},
               {"ToleratedFailurePercentagePath", Lang::kJsonPathOnly},
               {"Label", Lang::kBoth},
               {"ItemReader", Lang::kBoth},
               {"ItemBatcher", Lang::kBoth},
               {"ResultWriter", Lang::kBoth}},
              language, "Map states", v);
  CheckProcessor(state, location, language, depth, v);
  CheckItems(state, location, language, v);
  CheckTolerance(state, location, language, v);
  CheckLabel(state, location, v);
  CheckItemReader(state, location, language, v);
  CheckItemBatcher(state, location, language, v);
  CheckResultWriter(state, location, language, v);
}

}  // namespace stepflow::sm::validator_internal
