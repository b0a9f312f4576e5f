// DevFlow's JavaScript example (shared/seeds/003, L292-318) as written, with real ids in place of
// its placeholders: the agent id comes from the registration answer and the task id from the
// commands answer ('agent-id' and 'task-id' in the seed). BASE_URL and TOKEN come from the test.
import axios from 'axios';

const token = process.env.TOKEN;
const client = axios.create({
  baseURL: process.env.BASE_URL,
  headers: {
    'Authorization': `Bearer ${token}`
  }
});

// Register agent
const response = await client.post('/api/agents', {
  agentId: 'agent-uuid',
  name: 'my-agent',
  version: '0.2.0',
  capabilities: ['fix-bug']
});
const agentId = response.data.agent.id;

// Get pending commands
const commands = await client.get(`/api/agents/${agentId}/commands`);
const taskId = commands.data.commands[0].task_id;

// Report progress
await client.post(`/api/tasks/${taskId}/progress`, {
  status: 'in_progress',
  progress: 0.5,
  step: 'Running tests'
});

// Complete task
await client.post(`/api/tasks/${taskId}/complete`, {
  success: true,
  summary: 'Task completed',
  prUrl: 'https://github.com/...'
});

console.log(JSON.stringify({ agentId, taskId, registered: response.status }));
