// A Metadata request as kwire sends it, right for every version: the rules
// for "every topic" and for auto-creation changed between versions, and the
// codec refuses a value a version cannot carry.
#pragma once

#include "kwire/proto/messages/metadata.hpp"

#include <optional>
#include <string>
#include <vector>

namespace kwire::proto {

// Asks for `topics` (std::nullopt: every topic). `allow_auto_create` asks
// the broker to create missing topics (it still needs auto.create.topics.enable).
inline metadata_request make_metadata_request(const std::optional<std::vector<std::string>>& topics,
                                              std::int16_t version, bool allow_auto_create = false) {
    metadata_request req;
    if (topics) {
        req.topics.emplace();
        for (const auto& name : *topics) {
            metadata_request::metadata_request_topic t;
            t.name = name;
            req.topics->push_back(std::move(t));
        }
    } else if (version >= 1) {
        req.topics = std::nullopt;  // every topic; v0 said so with an empty list
    } else {
        req.topics.emplace();
    }
    // The flag arrived in v4; older versions follow the broker's own setting.
    if (version >= 4) req.allow_auto_topic_creation = allow_auto_create;
    return req;
}

} // namespace kwire::proto
