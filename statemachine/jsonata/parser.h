#pragma once
// JSONata's parser (internal): a Pratt parser over the Lexer's tokens that builds the raw tree, then
// ProcessAst (ast_process.cc) which flattens paths into steps as jsonata-js does. Throws JsonataException.

#include <string_view>

#include "statemachine/jsonata/ast.h"
#include "statemachine/jsonata/lexer.h"

namespace stepflow::sm::jsonata {

// Parses `text` into the processed tree.
NodePtr ParseExpression(std::string_view text);

// Raw tree -> processed tree (paths, stages, ancestry slots, tail calls).
NodePtr ProcessAst(NodePtr raw);

// Parses a signature body such as "n-n:n" (without the angle brackets).
std::shared_ptr<const Signature> ParseSignature(std::string_view text, std::int64_t position);

}  // namespace stepflow::sm::jsonata
