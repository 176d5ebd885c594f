#include "server_port.h"

#include <algorithm>

#include "connection.h"
#include "lpc.h"

namespace lpc {

std::string ServerAttributeText(const Sender& server) {
  return "uid=" + std::to_string(server.uid) +
         " gid=" + std::to_string(server.gid) +
         " pid=" + std::to_string(server.pid) +
         " start_time=" + std::to_string(server.start_time);
}

void RecordQueue::RemoveMessagesOf(ConnId conn) {
  std::erase_if(entries_, [conn](const RecordEntry& e) {
    return e.type == LPC_REC_MESSAGE && e.conn == conn;
  });
}

void RecordQueue::RemoveAllOf(ConnId conn) {
  std::erase_if(entries_,
                [conn](const RecordEntry& e) { return e.conn == conn; });
}

void RecordQueue::RemoveOneMessageOf(ConnId conn) {
  auto it = std::find_if(entries_.rbegin(), entries_.rend(),
                         [conn](const RecordEntry& e) {
                           return e.type == LPC_REC_MESSAGE && e.conn == conn;
                         });
  if (it != entries_.rend()) entries_.erase(std::next(it).base());
}

ServerPort::ServerPort(PortId id, NodeId node, HandleId server_handle,
                       WaitContext context)
    : id_(id),
      node_(node),
      server_handle_(server_handle),
      readers_(context, {WaitSite::Place::kRecords, id, ConnId()}) {}

void ServerPort::AddConnection(Connection* conn) {
  connections_.emplace(conn->id(), conn);
}

void ServerPort::RemoveConnection(ConnId id) {
  connections_.erase(id);
  requests_.erase(id);
}

}  // namespace lpc
