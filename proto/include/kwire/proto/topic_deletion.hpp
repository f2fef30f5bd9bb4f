// A DeleteTopics request as kwire sends it, right for every version: v6
// names each topic in a struct (which may carry its id instead), older
// versions list the names.
#pragma once

#include "kwire/proto/messages/delete_topics.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace kwire::proto {

inline delete_topics_request make_delete_topics_request(const std::vector<std::string>& names, std::int16_t version,
                                                        std::int32_t timeout_ms) {
    delete_topics_request req;
    req.timeout_ms = timeout_ms;
    for (const auto& name : names) {
        if (version >= 6) {
            delete_topics_request::delete_topic_state t;
            t.name = name;
            req.topics.push_back(std::move(t));
        } else {
            req.topic_names.push_back(name);
        }
    }
    return req;
}

} // namespace kwire::proto
