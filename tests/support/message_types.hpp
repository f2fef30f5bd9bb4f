// Every request type kwire has a generated codec for, as a type list, and a
// dispatch from an API key to its request type. Shared by the golden-bytes
// test and the fuzz targets (which see proto/ only, so nothing here may need
// net/ or Asio).
#pragma once

#include "kwire/proto/messages.hpp"

#include <cstdint>
#include <type_traits>

namespace kwire::test {

template <class... T>
struct type_list {
    static constexpr std::size_t size = sizeof...(T);
};

using all_request_types =
    type_list<proto::produce_request, proto::fetch_request, proto::list_offsets_request, proto::metadata_request,
              proto::offset_commit_request, proto::offset_fetch_request, proto::find_coordinator_request,
              proto::join_group_request, proto::heartbeat_request, proto::leave_group_request,
              proto::sync_group_request, proto::describe_groups_request, proto::list_groups_request,
              proto::sasl_handshake_request, proto::api_versions_request, proto::create_topics_request,
              proto::delete_topics_request, proto::init_producer_id_request, proto::describe_configs_request,
              proto::sasl_authenticate_request>;

// Calls f(std::type_identity<Request>{}) for the request type of `api_key`;
// false if kwire has no codec for that key.
template <class F, class... T>
bool visit_request_type(type_list<T...>, std::int16_t api_key, F&& f) {
    return ((T::api_key == api_key ? (f(std::type_identity<T>{}), true) : false) || ...);
}
template <class F>
bool visit_request_type(std::int16_t api_key, F&& f) {
    return visit_request_type(all_request_types{}, api_key, static_cast<F&&>(f));
}

// Calls f(std::type_identity<Request>{}) for the index-th request type
// (index taken modulo the number of types).
template <class F, class... T>
void visit_request_index(type_list<T...>, std::size_t index, F&& f) {
    std::size_t i = 0;
    index %= sizeof...(T);
    ((i++ == index ? (f(std::type_identity<T>{}), void()) : void()), ...);
}
template <class F>
void visit_request_index(std::size_t index, F&& f) {
    visit_request_index(all_request_types{}, index, static_cast<F&&>(f));
}

} // namespace kwire::test
